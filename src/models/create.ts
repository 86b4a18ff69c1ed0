// Creating a model from a config and weights already in memory: the class is picked from the
// config's `architectures` (or an explicit head), every tensor checked against the config. No file
// access here (index.ts loads and saves folders in Node; the browser fetches them), so the browser
// bundle shares this code.

import { UserError } from "../errors.js";
import type { ModelConfig } from "../io/config-format.js";
import { checkQuantizationConfig } from "../io/quantization-config.js";
import type { Backend } from "../tensor/backend.js";
import { BERT_ARCHITECTURES, BERT_KEYS, bertAliases, createBert } from "./bert.js";
import {
  createDistilBert,
  DISTILBERT_ARCHITECTURES,
  DISTILBERT_KEYS,
  distilBertAliases,
} from "./distilbert.js";
import type { ArchitectureKeys } from "./encoder.js";
import type { TransformerModel } from "./model.js";
import type { HeadKind, ModelDtype } from "./types.js";
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

/** The checkpoint keys of the config's architecture. */
export function architectureKeys(config: ModelConfig): ArchitectureKeys {
  return config.modelType === "distilbert" ? DISTILBERT_KEYS : BERT_KEYS;
}

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
  /**
   * "int8": quantize float Linear weights and word embeddings (tensor/int8.ts). Weights stored as
   * int8 are loaded as int8 either way. Default "float32".
   */
  dtype?: ModelDtype;
  /** The weights' arrays are this model's to keep (see FactoryOptions.adoptSource). */
  adoptWeights?: boolean;
  /** Inference only: Linear weights packed by the backend at load (FactoryOptions.inference). */
  inference?: boolean;
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
  checkQuantizationConfig(config.raw, options.sourceName ?? "config.json");
  const aliases = config.modelType === "distilbert" ? distilBertAliases(head) : bertAliases(head);
  const factory = new ParameterFactory(backend, {
    source: weights,
    sourceName: options.sourceName ?? "the weights",
    aliases,
    initializeMissingHead: head !== configHead,
    initializerRange: config.initializerRange,
    seed: options.seed ?? 0,
    int8: options.dtype === "int8",
    adoptSource: options.adoptWeights,
    inference: options.inference,
  });
  return config.modelType === "distilbert"
    ? createDistilBert(config, head, factory, backend)
    : createBert(config, head, factory, backend);
}
