// Loading, creating and saving models: the class is picked from the config's `architectures` (or
// an explicit head), every tensor checked against the config.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { loadConfig, type ModelConfig, saveConfig } from "../io/config.js";
import { Checkpoint, type TensorToWrite, writeSafetensors } from "../io/safetensors.js";
import type { Backend } from "../tensor/backend.js";
import { ReferenceBackend } from "../tensor/reference.js";
import { BERT_ARCHITECTURES, bertAliases, createBert } from "./bert.js";
import { createDistilBert, DISTILBERT_ARCHITECTURES, distilBertAliases } from "./distilbert.js";
import type { TransformerModel } from "./model.js";
import type { HeadKind, Model } from "./types.js";
import { ParameterFactory, type WeightSource } from "./weights.js";

export type { WeightSource } from "./weights.js";

export const HEAD_KINDS: readonly HeadKind[] = [
  "base",
  "masked-lm",
  "sequence-classification",
  "token-classification",
  "question-answering",
  "multiple-choice",
];

function architectures(config: ModelConfig): Partial<Record<HeadKind, string>> {
  return config.modelType === "distilbert" ? DISTILBERT_ARCHITECTURES : BERT_ARCHITECTURES;
}

/** The head named by the config's `architectures` (its first entry); `base` when it names none. */
export function headOfConfig(config: ModelConfig, source = "config.json"): HeadKind {
  const name = config.architectures[0];
  if (name === undefined) return "base";
  const table = architectures(config);
  const head = HEAD_KINDS.find((kind) => table[kind] === name);
  if (!head) {
    throw new UserError(
      `${source} names architecture '${name}', which this project does not have for model_type ${config.modelType}; supported: ${Object.values(table).join(", ")}`,
    );
  }
  return head;
}

export interface CreateOptions {
  /** The head to build; defaults to the config's architecture. */
  head?: HeadKind;
  /** Seeds the initialisation of weights the source lacks (or of all, without a source). */
  seed?: number;
  /** Names the weights in error messages. */
  sourceName?: string;
}

/**
 * A model of `config` on `backend`, its weights copied from `weights` or, when null, initialised
 * as Hugging Face initialises them (training from scratch, students). Every tensor of the encoder
 * must be in `weights` with the config's shape; head tensors too, unless `head` differs from the
 * config's architecture (a new head on a pretrained encoder), when absent ones are initialised and
 * listed in `initializedKeys`.
 */
export function createModel(
  config: ModelConfig,
  weights: WeightSource | null,
  backend: Backend,
  options: CreateOptions = {},
): TransformerModel {
  const configHead = headOfConfig(config);
  const head = options.head ?? configHead;
  if (head === "masked-lm" && config.raw.tie_word_embeddings === false) {
    throw new UserError(
      "config.json sets tie_word_embeddings to false: a masked-LM decoder separate from the word embeddings is not supported",
    );
  }
  const aliases = config.modelType === "distilbert" ? distilBertAliases(head) : bertAliases(head);
  const factory = new ParameterFactory(backend, {
    source: weights,
    sourceName: options.sourceName ?? "the weights",
    aliases,
    initializeMissingHead: head !== configHead,
    initializerRange: config.initializerRange,
    seed: options.seed ?? 0,
  });
  return config.modelType === "distilbert"
    ? createDistilBert(config, head, factory, backend)
    : createBert(config, head, factory, backend);
}

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
  saveConfig({ ...config, architectures: [model.architecture] }, dir);
}

export { BERT_ARCHITECTURES } from "./bert.js";
export { DISTILBERT_ARCHITECTURES } from "./distilbert.js";
export { TransformerModel } from "./model.js";
export type * from "./types.js";
