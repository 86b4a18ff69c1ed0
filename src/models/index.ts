// Loading and saving model folders on disk (Node); the models are built by create.ts, shared with
// the browser bundle.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, type ModelConfig, saveConfig } from "../io/config.js";
import { int8QuantizationConfig } from "../io/quantization-config.js";
import { Checkpoint, type TensorToWrite, writeSafetensors } from "../io/safetensors.js";
import type { Backend } from "../tensor/backend.js";
import { ReferenceBackend } from "../tensor/reference.js";
import { copyTokenizerFiles } from "../tokenizer/files.js";
import { createModel } from "./create.js";
import type { TransformerModel } from "./model.js";
import type { HeadKind, Model, ModelDtype } from "./types.js";
import { scaleKey } from "./weights.js";

export {
  architectureKeys,
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
  /** "int8" quantizes a float model as it loads; an int8 folder loads as int8 regardless. */
  dtype?: ModelDtype;
}

/** Loads a Hugging Face model folder (config.json + model.safetensors or shards). */
export function loadModel(dir: string, options: LoadOptions = {}): TransformerModel {
  const config = loadConfig(dir);
  const checkpoint = Checkpoint.open(dir);
  return createModel(config, checkpoint, options.backend ?? new ReferenceBackend(), {
    head: options.head,
    dtype: options.dtype,
    adoptWeights: true,
    sourceName: join(dir, "model.safetensors"),
  });
}

/**
 * The model's weights as saveModel writes them, under their checkpoint keys: int8 weights as I8
 * beside their `_scale` tensors, the rest in `dtype` (default F32).
 */
export function checkpointTensors(
  model: Model,
  dtype: "F32" | "F16" = "F32",
): Record<string, TensorToWrite> {
  const tensors: Record<string, TensorToWrite> = {};
  for (const param of model.parameters) {
    if (param.int8) {
      tensors[param.name] = { dtype: "I8", shape: param.shape, data: param.int8.values };
      tensors[scaleKey(param.name)] = {
        dtype: "F32",
        shape: [param.int8.rows, 1],
        data: param.int8.scales,
      };
    } else {
      tensors[param.name] = { dtype, shape: param.shape, data: param.data };
    }
  }
  return tensors;
}

/** The safetensors metadata transformers writes (and expects) in model.safetensors. */
export const CHECKPOINT_METADATA = { format: "pt" };

export interface SaveOptions {
  /** Weights' dtype on disk; default F32. */
  dtype?: "F32" | "F16";
  /** Copy the tokenizer files of this folder beside the model. */
  tokenizerFrom?: string;
}

/**
 * The one writer of a model folder: DIR/model.safetensors and DIR/config.json, each atomically,
 * and the tokenizer files when asked; a folder Hugging Face transformers loads.
 */
export function writeModelFolder(
  dir: string,
  config: ModelConfig,
  tensors: Record<string, TensorToWrite>,
  options: SaveOptions = {},
): void {
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, "model.safetensors"), tensors, CHECKPOINT_METADATA);
  saveConfig(config, dir, options.dtype ?? "F32");
  if (options.tokenizerFrom !== undefined) copyTokenizerFiles(options.tokenizerFrom, dir);
}

/**
 * Writes the model's folder (writeModelFolder), config.json's `architectures` set to the model's.
 * Int8 weights are written as I8 with their scales, and config.json's quantization_config says so
 * (io/quantization-config.ts).
 */
export function saveModel(
  model: Model,
  config: ModelConfig,
  dir: string,
  options: SaveOptions = {},
): void {
  const raw = { ...config.raw };
  if (model.dtype === "int8") raw.quantization_config = int8QuantizationConfig();
  else delete raw.quantization_config;
  const saved = { ...config, raw, architectures: [model.architecture] };
  writeModelFolder(dir, saved, checkpointTensors(model, options.dtype), options);
}

export { BERT_ARCHITECTURES } from "./bert.js";
export { DISTILBERT_ARCHITECTURES, DISTILBERT_KEYS } from "./distilbert.js";
export type { ArchitectureKeys } from "./encoder.js";
export { TransformerModel } from "./model.js";
export type * from "./types.js";
