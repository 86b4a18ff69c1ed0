// Runs one kernel call on `threads` threads, the caller being thread 0, all on the same shared
// memory: each thread takes tasks from the call's counter until none are left. Calls are
// synchronous: the caller returns when every thread has finished.

import { CONTROL } from "./control.js";
import type { WasmHeap } from "./heap.js";
import { canBlock, type KernelWorker, spawnWorker } from "./platform.js";
import type { WorkerStart } from "./worker.js";

type Kernel = (...args: number[]) => void;

export class ThreadPool {
  private readonly slots: Int32Array;
  private readonly args: Float64Array;
  private readonly blocking = canBlock();

  private readonly kernels: Kernel[];

  private constructor(
    /** The caller's instance of the kernels module. */
    readonly instance: WebAssembly.Instance,
    kernelNames: string[],
    heap: WasmHeap,
    readonly threads: number,
    private readonly workers: KernelWorker[],
  ) {
    this.kernels = kernelNames.map((name) => instance.exports[name] as Kernel);
    this.slots = new Int32Array(heap.memory.buffer, 0, CONTROL.argsByteOffset / 4);
    this.args = new Float64Array(heap.memory.buffer, CONTROL.argsByteOffset, CONTROL.maxArgs);
  }

  /** Instantiates the kernels here and on threads - 1 workers. */
  static async create(
    module: WebAssembly.Module,
    heap: WasmHeap,
    kernelNames: string[],
    threads: number,
  ): Promise<ThreadPool> {
    const instance = await WebAssembly.instantiate(module, { env: { memory: heap.memory } });
    const workers = await Promise.all(Array.from({ length: threads - 1 }, () => spawnWorker()));
    await Promise.all(
      workers.map((worker, index) => {
        const start: WorkerStart = {
          module,
          memory: heap.memory,
          kernels: kernelNames,
          tid: index + 1,
          control: CONTROL,
        };
        return worker.start(start);
      }),
    );
    return new ThreadPool(instance, kernelNames, heap, threads, workers);
  }

  /** Stops the workers; no call may run after. */
  stop(): void {
    for (const worker of this.workers) worker.terminate();
  }

  /** Runs kernel(...args, tid) on every thread tid below `threads`. */
  run(kernel: number, args: number[], threads: number): void {
    const count = Math.max(1, Math.min(threads, this.threads));
    const { slots } = this;
    Atomics.store(slots, CONTROL.tasks, 0);
    if (count === 1) {
      this.kernels[kernel](...args, 0);
      return;
    }
    this.args.set(args);
    slots[CONTROL.kernel] = kernel;
    slots[CONTROL.argCount] = args.length;
    slots[CONTROL.threads] = count;
    Atomics.store(slots, CONTROL.pending, count - 1);
    Atomics.add(slots, CONTROL.generation, 1);
    Atomics.notify(slots, CONTROL.generation);
    this.kernels[kernel](...args, 0);
    const spinEnd = performance.now() + CONTROL.spinMilliseconds;
    while (Atomics.load(slots, CONTROL.pending) !== 0 && performance.now() < spinEnd);
    for (;;) {
      const pending = Atomics.load(slots, CONTROL.pending);
      if (pending === 0) break;
      if (this.blocking) Atomics.wait(slots, CONTROL.pending, pending);
    }
  }
}
