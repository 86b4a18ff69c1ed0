// The inference side of the server, in a worker thread: loads one model's pipelines and runs the
// batches the main thread sends, one at a time (the backend already uses every core), so the main
// thread's event loop never waits on the model. Started by model-worker.ts.

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parentPort, workerData } from "node:worker_threads";
import { UserError } from "../errors.js";
import { type Pipeline, pipeline, type Task } from "../pipelines/index.js";
import { createBackend } from "../tensor/index.js";
import type { ModelSpec, WorkerReply, WorkerRequest } from "./model-worker.js";

async function load(spec: ModelSpec): Promise<Map<string, Pipeline>> {
  const backend = await createBackend(spec.backend ?? "auto", { threads: spec.threads });
  const pipelines = new Map<string, Pipeline>();
  for (const task of spec.tasks) {
    pipelines.set(
      task,
      await pipeline(task as Task, spec.model, {
        backend,
        revision: spec.revision,
        cacheDir: spec.cacheDir,
        dtype: spec.dtype,
      }),
    );
  }
  return pipelines;
}

async function run(pipelines: Map<string, Pipeline>, request: WorkerRequest): Promise<unknown[]> {
  const pipe = pipelines.get(request.task);
  if (!pipe) throw new Error(`this worker does not serve ${request.task}`);
  // The batch was formed within the server's token budget: one forward pass for all of it
  // (inputs come sorted by length, so padding stays small), unless the client chose otherwise.
  const options = { batch_size: Math.max(1, request.inputs.length), ...request.parameters };
  const outputs = await pipe.runBatch(request.inputs, options);
  return outputs.map((output, i) =>
    request.single[i] ? pipe.single(request.inputs[i], output, options) : output,
  );
}

/**
 * After this long without a batch, the models give back their scratch buffers: they grow to the
 * largest batch of a burst (a GB for long inputs) and would hold that memory for good.
 */
const IDLE_RELEASE_MS = 2000;

/**
 * A full garbage collection of this worker's heap. The released buffers are ArrayBuffers, freed
 * only when V8 collects them, and V8 collects when JavaScript allocates, which an idle worker does
 * not: without this, a burst's memory stays taken until the next burst. (The flag is set only to
 * fetch the function, so no other context gets a global `gc`.)
 */
function fullCollector(): () => void {
  setFlagsFromString("--expose-gc");
  try {
    return runInNewContext("gc") as () => void;
  } finally {
    setFlagsFromString("--no-expose-gc");
  }
}

/**
 * Tracks the batches running: `started` when one comes, `finished` when it is answered. Once none
 * has run for IDLE_RELEASE_MS, every model releases its buffers (never while a batch runs) and the
 * memory goes back.
 */
function idleRelease(pipelines: Map<string, Pipeline>) {
  const collect = fullCollector();
  let running = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    started() {
      running++;
      clearTimeout(timer);
    },
    finished() {
      running--;
      if (running > 0) return;
      timer = setTimeout(() => {
        for (const pipe of pipelines.values()) pipe.model.releaseBuffers();
        collect();
      }, IDLE_RELEASE_MS);
      timer.unref();
    },
  };
}

const port = parentPort;
if (port === null) throw new Error("server/worker.js runs as a worker thread");
const reply = (message: WorkerReply) => port.postMessage(message);

load(workerData as ModelSpec).then(
  (pipelines) => {
    const first = pipelines.values().next().value as Pipeline;
    reply({ type: "ready", modelDir: first.modelDir, dtype: first.model.dtype });
    const batches = idleRelease(pipelines);
    port.on("message", (request: WorkerRequest) => {
      batches.started();
      run(pipelines, request)
        .finally(batches.finished)
        .then(
          (outputs) => reply({ type: "result", id: request.id, outputs }),
          (error: unknown) =>
            reply({
              type: "error",
              id: request.id,
              message: error instanceof Error ? error.message : String(error),
              stack: error instanceof Error ? error.stack : undefined,
              user: error instanceof UserError,
            }),
        );
    });
  },
  (error: unknown) =>
    reply({
      type: "failed",
      message: error instanceof Error ? error.message : String(error),
      user: error instanceof UserError,
    }),
);
