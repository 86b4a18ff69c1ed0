// The main thread's handle on a model's worker thread (worker.ts): start it, send it batches,
// get each batch's outputs back as a promise, stop it.

import { Worker } from "node:worker_threads";
import { UserError } from "../errors.js";
import type { ModelDtype } from "../models/index.js";
import type { BackendChoice } from "../tensor/index.js";

/** One model and the tasks run on it, loaded in one worker thread. */
export interface ModelSpec {
  tasks: string[];
  /** A local folder or a Hub id; default: the task's shipped model. */
  model?: string;
  revision?: string;
  cacheDir?: string;
  backend?: BackendChoice;
  threads?: number;
  dtype?: ModelDtype;
}

export interface WorkerRequest {
  id: number;
  task: string;
  inputs: unknown[];
  parameters: Record<string, unknown>;
  /** Per input: true when it came alone (not in a list), so it is answered as `run(input)`. */
  single: boolean[];
}

export type WorkerReply =
  | { type: "ready"; modelDir: string; dtype: ModelDtype }
  | { type: "failed"; message: string; user: boolean }
  | { type: "result"; id: number; outputs: unknown[] }
  | { type: "error"; id: number; message: string; stack?: string; user: boolean };

/** A batch's failure: `user` when the inputs or options were wrong (400), else a bug (500). */
export class BatchError extends Error {
  constructor(
    message: string,
    readonly user: boolean,
    readonly detail?: string,
  ) {
    super(message);
  }
}

export class ModelWorker {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    {
      resolve: (outputs: unknown[]) => void;
      reject: (error: Error) => void;
      /** Called once the batch has an answer, whatever it is. */
      settled: (() => void)[];
    }
  >();

  private constructor(
    private readonly worker: Worker,
    readonly modelDir: string,
    readonly dtype: ModelDtype,
  ) {
    worker.on("message", (reply: WorkerReply) => {
      if (reply.type !== "result" && reply.type !== "error") return;
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (reply.type === "result") waiting.resolve(reply.outputs);
      else waiting.reject(new BatchError(reply.message, reply.user, reply.stack));
      for (const done of waiting.settled) done();
    });
    worker.on("error", (error) => this.failAll(error));
    worker.on("exit", (code) => this.failAll(new Error(`the model's worker exited (${code})`)));
  }

  /** Starts a worker and resolves once its model is loaded (a load error rejects, as UserError). */
  static start(spec: ModelSpec): Promise<ModelWorker> {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: spec });
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the model's worker exited (${code})`));
      worker.once("error", reject);
      worker.once("exit", onExit);
      worker.once("message", (reply: WorkerReply) => {
        worker.off("error", reject);
        worker.off("exit", onExit);
        if (reply.type === "ready") {
          resolve(new ModelWorker(worker, reply.modelDir, reply.dtype));
        } else if (reply.type === "failed") {
          void worker.terminate();
          reject(reply.user ? new UserError(reply.message) : new Error(reply.message));
        }
      });
    });
  }

  /** Runs `task` on `inputs` (one output each, in order). */
  run(
    task: string,
    inputs: unknown[],
    parameters: Record<string, unknown>,
    single: boolean[],
  ): Promise<unknown[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, settled: [] });
      this.worker.postMessage({ id, task, inputs, parameters, single } satisfies WorkerRequest);
    });
  }

  /**
   * Stops the worker once the batches sent to it have finished: terminating it mid-batch would
   * free the arrays the native kernels' threads are still computing into.
   */
  async stop(): Promise<void> {
    const waiting = [...this.pending.values()].map(
      (entry) => new Promise<void>((done) => entry.settled.push(done)),
    );
    await Promise.all(waiting);
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) {
      waiting.reject(error);
      for (const done of waiting.settled) done();
    }
    this.pending.clear();
  }
}
