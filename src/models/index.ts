// Loading and saving model folders on disk (Node); the models are built by create.ts, shared with
// the browser bundle.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { loadConfig, type ModelConfig } from "../io/config.js";
import { Checkpoint, type TensorToWrite } from "../io/safetensors.js";
import type { Backend } from "../tensor/backend.js";
import { ReferenceBackend } from "../tensor/reference.js";
import { copyTokenizerFiles } from "../tokenizer/files.js";
import { createModel } from "./create.js";
import {
  checkpointTensors,
  modelFolderFiles,
  savedConfig,
  type Tensor,
  type WeightsDtype,
  weightTensors,
} from "./folder-format.js";
import type { TransformerModel } from "./model.js";
import type { HeadKind, Model, ModelDtype } from "./types.js";

export {
  architectureKeys,
  type CreateOptions,
  createModel,
  HEAD_KINDS,
  headOfConfig,
  type WeightSource,
} from "./create.js";
export {
  CHECKPOINT_METADATA,
  checkpointTensors,
  modelFolderFiles,
  savedConfig,
  type Tensor,
  weightTensors,
} from "./folder-format.js";

export interface LoadOptions {
  /** Default: the reference backend. */
  backend?: Backend;
  /** Build this head instead of the config's architecture. */
  head?: HeadKind;
  /** "int8" quantizes a float model as it loads; an int8 folder loads as int8 regardless. */
  dtype?: ModelDtype;
  /**
   * For inference only (pipelines, serving, timing): Linear weights are packed by the backend as
   * they are read, the packed copy replacing the float one, and the model cannot be trained.
   */
  inference?: boolean;
}

/** Loads a Hugging Face model folder (config.json + model.safetensors or shards). */
export function loadModel(dir: string, options: LoadOptions = {}): TransformerModel {
  const config = loadConfig(dir);
  const checkpoint = Checkpoint.open(dir);
  return createModel(config, checkpoint, options.backend ?? new ReferenceBackend(), {
    head: options.head,
    dtype: options.dtype,
    inference: options.inference,
    adoptWeights: true,
    sourceName: join(dir, "model.safetensors"),
  });
}

export interface SaveOptions {
  /** Weights' dtype on disk; default F32. */
  dtype?: WeightsDtype;
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
  for (const [name, contents] of Object.entries(modelFolderFiles(config, tensors, options.dtype))) {
    writeFileAtomic(join(dir, name), contents);
  }
  if (options.tokenizerFrom !== undefined) copyTokenizerFiles(options.tokenizerFrom, dir);
}

/** Writes the model's folder (writeModelFolder) with its savedConfig and checkpointTensors. */
export function saveModel(
  model: Model,
  config: ModelConfig,
  dir: string,
  options: SaveOptions = {},
): void {
  writeModelFolder(
    dir,
    savedConfig(model, config),
    checkpointTensors(model, options.dtype),
    options,
  );
}

/** Writes loose weights (weightTensors) as a model folder (writeModelFolder). */
export function saveWeights(
  config: ModelConfig,
  weights: Map<string, Tensor>,
  dir: string,
  options: SaveOptions = {},
): void {
  writeModelFolder(dir, config, weightTensors(weights, options.dtype), options);
}

export { BERT_ARCHITECTURES } from "./bert.js";
export { DISTILBERT_ARCHITECTURES, DISTILBERT_KEYS } from "./distilbert.js";
export type { ArchitectureKeys } from "./encoder.js";
export { TransformerModel } from "./model.js";
export type * from "./types.js";
