// The code each worker runs. It is sent as source text (a Blob URL in the browser, eval in Node),
// so `serveKernels` must not refer to anything outside itself: all it needs arrives in `start`.

export interface WorkerStart {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Export names, indexed by the kernel number written into the control block. */
  kernels: string[];
  /** This worker's thread index (the caller is 0). */
  tid: number;
  /** CONTROL from control.ts. */
  control: {
    generation: number;
    pending: number;
    kernel: number;
    threads: number;
    argCount: number;
    tasks: number;
    argsByteOffset: number;
    maxArgs: number;
    spinMilliseconds: number;
  };
}

type Kernel = (...args: number[]) => void;

/** Instantiates the kernels on the shared memory, reports ready, then serves calls forever. */
export async function serveKernels(start: WorkerStart, ready: () => void): Promise<void> {
  const { control, tid } = start;
  const instance = await WebAssembly.instantiate(start.module, { env: { memory: start.memory } });
  const kernels = start.kernels.map((name) => instance.exports[name] as Kernel);
  const slots = new Int32Array(start.memory.buffer, 0, control.argsByteOffset / 4);
  const args = new Float64Array(start.memory.buffer, control.argsByteOffset, control.maxArgs);
  let seen = Atomics.load(slots, control.generation);
  ready();
  for (;;) {
    const spinEnd = performance.now() + control.spinMilliseconds;
    while (Atomics.load(slots, control.generation) === seen && performance.now() < spinEnd);
    Atomics.wait(slots, control.generation, seen);
    seen = Atomics.load(slots, control.generation);
    const threads = slots[control.threads];
    if (tid >= threads) continue;
    const argv = Array.from(args.subarray(0, slots[control.argCount]));
    kernels[slots[control.kernel]](...argv, tid);
    if (Atomics.sub(slots, control.pending, 1) === 1) Atomics.notify(slots, control.pending);
  }
}

/** The worker's whole source for Node (eval'd, CommonJS) or the browser (a classic script). */
export function workerSource(runtime: "node" | "browser"): string {
  const serve = serveKernels.toString();
  if (runtime === "node") {
    return `const { parentPort } = require("node:worker_threads");
const serveKernels = ${serve};
parentPort.once("message", (start) => serveKernels(start, () => parentPort.postMessage("ready")));`;
  }
  return `const serveKernels = ${serve};
self.onmessage = (event) => serveKernels(event.data, () => self.postMessage("ready"));`;
}
