// The queue worker's job processor, run by BullMQ in a worker thread (a sandboxed processor), so
// that inference never blocks the thread that renews the job locks: a long job is not taken for
// stalled and run twice. Each thread keeps the pipelines it built for the next jobs.

import { type SandboxedJob, UnrecoverableError } from "bullmq";
import { type PredictFunction, predictFunction } from "../cli/predict-function.js";
import { answerLine } from "../cli/stdin-lines.js";
import { UserError } from "../errors.js";
import type { ModelDtype } from "../models/types.js";
import type { BackendChoice } from "../tensor/index.js";
import type { ChunkJob, ChunkResult } from "./jobs.js";

/**
 * The worker's choices, set by the worker command before it starts BullMQ (worker threads
 * inherit the environment): the backend, and "int8" to quantize float models as they load.
 */
export const BACKEND_VARIABLE = "DISTILBERT_QUEUE_BACKEND";
export const DTYPE_VARIABLE = "DISTILBERT_QUEUE_DTYPE";

const predictors = new Map<string, Promise<PredictFunction>>();

function predictorFor(job: ChunkJob): Promise<PredictFunction> {
  const key = JSON.stringify([job.task, job.model, job.options]);
  let made = predictors.get(key);
  if (!made) {
    const backend = (process.env[BACKEND_VARIABLE] ?? "auto") as BackendChoice;
    const dtype = process.env[DTYPE_VARIABLE] as ModelDtype | undefined;
    made = predictFunction(job.task, job.model ?? undefined, job.options, { backend, dtype });
    made.catch(() => predictors.delete(key));
    predictors.set(key, made);
  }
  return made;
}

export default async function processChunk(job: SandboxedJob<ChunkJob, ChunkResult>) {
  let predict: PredictFunction;
  try {
    predict = await predictorFor(job.data);
  } catch (error) {
    // A model that does not exist here, a bad option: retrying cannot help.
    if (error instanceof UserError) throw new UnrecoverableError(error.message);
    throw error;
  }
  const result: ChunkResult = { lines: [], failed: 0 };
  for (const line of job.data.lines) {
    const answer = await answerLine(predict, line);
    result.lines.push(answer.text);
    if (answer.failed) result.failed += 1;
  }
  return result;
}
