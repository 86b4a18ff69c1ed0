// The inference side of the server, in a worker thread: loads one model's pipelines and runs the
// batches the main thread sends, one at a time (the backend already uses every core), so the main
// thread's event loop never waits on the model. Started by model-worker.ts.

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

const port = parentPort;
if (port === null) throw new Error("server/worker.js runs as a worker thread");
const reply = (message: WorkerReply) => port.postMessage(message);

load(workerData as ModelSpec).then(
  (pipelines) => {
    const first = pipelines.values().next().value as Pipeline;
    reply({ type: "ready", modelDir: first.modelDir, dtype: first.model.dtype });
    port.on("message", (request: WorkerRequest) => {
      run(pipelines, request).then(
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
