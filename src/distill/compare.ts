// A teacher and its student side by side, as DistilBERT's paper compares them: size, speed,
// masked-token accuracy and, given fine-tuned pairs, downstream scores; the model folders' measures
// on disk (the table and the speed itself are comparison.ts's).

import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../io/config.js";
import { Checkpoint, encodeSafetensors } from "../io/safetensors.js";
import {
  CHECKPOINT_METADATA,
  checkpointTensors,
  createModel,
  loadModel,
  type ModelDtype,
} from "../models/index.js";
import type { Backend } from "../tensor/backend.js";
import { encoderSpeed, type Speed } from "./comparison.js";

/**
 * Parameters stored in the checkpoint (a tied projector counted once, as stored; an int8 weight's
 * scales are not parameters).
 */
export function countParameters(dir: string): number {
  const checkpoint = Checkpoint.open(dir);
  let count = 0;
  for (const name of checkpoint.names()) {
    if (name.endsWith("_scale") && checkpoint.has(name.slice(0, -"_scale".length))) continue;
    count += checkpoint.info(name).shape.reduce((a, b) => a * b, 1);
  }
  return count;
}

/** Bytes model.safetensors takes once the model is quantized to int8 (distilbert quantize). */
export function int8WeightBytes(dir: string): number {
  const tensors = checkpointTensors(loadModel(dir, { dtype: "int8" }));
  return encodeSafetensors(tensors, CHECKPOINT_METADATA).byteLength;
}

/** Bytes of the weight files (model.safetensors or its shards). */
export function weightBytes(dir: string): number {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".safetensors") && name.startsWith("model"))
    .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

/** The encoder speed (comparison.ts encoderSpeed) of the model folder `dir`. */
export function measureSpeed(
  dir: string,
  backend: Backend,
  options: { seq: number; batch: number; repeats: number; dtype?: ModelDtype },
): Speed {
  const config = loadConfig(dir);
  const model = createModel(config, Checkpoint.open(dir), backend, {
    head: "base",
    sourceName: dir,
    dtype: options.dtype,
  });
  return encoderSpeed(model, config.vocabSize, options);
}
