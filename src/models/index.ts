// Loading and saving model folders on disk (Node); the models are built by create.ts, shared with
// the browser bundle.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, type ModelConfig, saveConfig } from "../io/config.js";
import { Checkpoint, type TensorToWrite, writeSafetensors } from "../io/safetensors.js";
import type { Backend } from "../tensor/backend.js";
import { ReferenceBackend } from "../tensor/reference.js";
import { createModel } from "./create.js";
import type { TransformerModel } from "./model.js";
import type { HeadKind, Model } from "./types.js";

export {
  type CreateOptions,
  createModel,
  HEAD_KINDS,
  headOfConfig,
  type WeightSource,
} from "./create.js";

export interface LoadOptions {
  /** Default: the reference backend. */
  backend?: Backend;
  /** Build this head instead of the config's architecture. */
  head?: HeadKind;
}

/** Loads a Hugging Face model folder (config.json + model.safetensors or shards). */
export function loadModel(dir: string, options: LoadOptions = {}): TransformerModel {
  const config = loadConfig(dir);
  const checkpoint = Checkpoint.open(dir);
  return createModel(config, checkpoint, options.backend ?? new ReferenceBackend(), {
    head: options.head,
    sourceName: join(dir, "model.safetensors"),
  });
}

export interface SaveOptions {
  /** Weights' dtype on disk; default F32. */
  dtype?: "F32" | "F16";
}

/**
 * Writes DIR/config.json (with `architectures` set to the model's) and DIR/model.safetensors,
 * each atomically, as a folder Hugging Face transformers loads.
 */
export function saveModel(
  model: Model,
  config: ModelConfig,
  dir: string,
  options: SaveOptions = {},
): void {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, TensorToWrite> = {};
  for (const param of model.parameters) {
    tensors[param.name] = { dtype: options.dtype ?? "F32", shape: param.shape, data: param.data };
  }
  writeSafetensors(join(dir, "model.safetensors"), tensors, { format: "pt" });
  saveConfig({ ...config, architectures: [model.architecture] }, dir, options.dtype ?? "F32");
}

export { BERT_ARCHITECTURES } from "./bert.js";
export { DISTILBERT_ARCHITECTURES } from "./distilbert.js";
export { TransformerModel } from "./model.js";
export type * from "./types.js";
