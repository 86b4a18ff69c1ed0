// What differs between Node and the browser: how many cores, how to start a worker, and whether
// this thread may block in Atomics.wait (a browser's main thread may not).

import { workerSource } from "./worker.js";

export interface KernelWorker {
  /** Sends the start message and resolves when the worker is serving calls. */
  start(message: unknown): Promise<void>;
  terminate(): void;
}

const isNode = typeof process !== "undefined" && process.versions?.node !== undefined;

export async function defaultThreadCount(): Promise<number> {
  if (isNode) {
    const os = await import("node:os");
    return os.availableParallelism();
  }
  return globalThis.navigator?.hardwareConcurrency ?? 1;
}

/** True where Atomics.wait may block: Node, workers; false on a browser's main thread. */
export function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

export async function spawnWorker(): Promise<KernelWorker> {
  if (isNode) {
    const { Worker } = await import("node:worker_threads");
    const worker = new Worker(workerSource("node"), { eval: true });
    // Idle workers must not keep the process alive.
    worker.unref();
    return {
      start: (message) =>
        new Promise((resolve, reject) => {
          worker.once("message", () => resolve());
          worker.once("error", reject);
          worker.postMessage(message);
        }),
      terminate: () => void worker.terminate(),
    };
  }
  const url = URL.createObjectURL(new Blob([workerSource("browser")], { type: "text/javascript" }));
  const worker = new Worker(url);
  return {
    start: (message) =>
      new Promise((resolve, reject) => {
        worker.onmessage = () => resolve();
        worker.onerror = (event) => reject(new Error(`kernel worker failed: ${event.message}`));
        worker.postMessage(message);
      }),
    terminate: () => {
      worker.terminate();
      URL.revokeObjectURL(url);
    },
  };
}
