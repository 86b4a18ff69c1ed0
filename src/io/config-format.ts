// config.json of Hugging Face DistilBERT and BERT models, with Hugging Face's defaults and names,
// read into one normalised shape the models use, and written back in Hugging Face's form. No file
// access here (config.ts reads and writes the file in Node; the browser fetches it), so the
// browser bundle shares this code.

import { UserError } from "../errors.js";
import type { Activation } from "../tensor/backend.js";

export type ProblemType =
  | "regression"
  | "single_label_classification"
  | "multi_label_classification";

/** How token states become one sentence vector: their mean over attended tokens, or [CLS]'s. */
export type Pooling = "mean" | "cls";

export const POOLINGS: readonly Pooling[] = ["mean", "cls"];

export interface ModelConfig {
  modelType: "distilbert" | "bert";
  architectures: string[];
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  activation: Activation;
  maxPositionEmbeddings: number;
  sinusoidalPosEmbds: boolean;
  /** 0 for DistilBERT, which has no token types. */
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
  /** Hidden-state dropout (DistilBERT `dropout`, BERT `hidden_dropout_prob`). */
  dropout: number;
  attentionDropout: number;
  /** Before the classifier (DistilBERT `seq_classif_dropout`, BERT `classifier_dropout`). */
  classifierDropout: number;
  /** Before the QA head (DistilBERT `qa_dropout`; BERT uses the hidden dropout). */
  qaDropout: number;
  initializerRange: number;
  id2label: Record<number, string>;
  label2id: Record<string, number>;
  numLabels: number;
  problemType: ProblemType | null;
  /**
   * `classifier_pooling`, a field of this project's (transformers ignores it): the sequence
   * classifier reads the L2-normalised mean or [CLS] pooling of the last hidden state, with no
   * pooler / pre_classifier, as a SetFit model's logistic regression reads its body's embedding.
   * null: Hugging Face's head.
   */
  classifierPooling: Pooling | null;
  /** The JSON as read, so fields this project does not use survive a save. */
  raw: Record<string, unknown>;
}

const ACTIVATIONS: Record<string, Activation> = {
  gelu: "gelu",
  relu: "relu",
  silu: "silu",
  swish: "silu",
  gelu_new: "gelu_new",
};

const PROBLEM_TYPES: ProblemType[] = [
  "regression",
  "single_label_classification",
  "multi_label_classification",
];

class ConfigReader {
  constructor(
    private readonly raw: Record<string, unknown>,
    private readonly source: string,
  ) {}

  fail(message: string): never {
    throw new UserError(`${this.source}: ${message}`);
  }

  int(key: string, fallback: number, min = 1): number {
    const value = this.raw[key] ?? fallback;
    if (!Number.isInteger(value) || (value as number) < min) {
      this.fail(`'${key}' must be an integer >= ${min}, got ${JSON.stringify(value)}`);
    }
    return value as number;
  }

  number(key: string, fallback: number): number {
    const value = this.raw[key] ?? fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      this.fail(`'${key}' must be a non-negative number, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  probability(key: string, fallback: number): number {
    const value = this.number(key, fallback);
    if (value >= 1)
      this.fail(`'${key}' is a dropout probability and must be below 1, got ${value}`);
    return value;
  }

  activation(key: string): Activation {
    const value = this.raw[key] ?? "gelu";
    // Own keys only: "toString" or an object must not find Object.prototype's members.
    const activation =
      typeof value === "string" && Object.hasOwn(ACTIVATIONS, value) ? ACTIVATIONS[value] : null;
    if (!activation) {
      this.fail(
        `'${key}' is ${JSON.stringify(value)}; supported: ${Object.keys(ACTIVATIONS).join(", ")}`,
      );
    }
    return activation;
  }
}

function readLabels(
  raw: Record<string, unknown>,
  reader: ConfigReader,
): Pick<ModelConfig, "id2label" | "label2id" | "numLabels"> {
  const id2label: Record<number, string> = {};
  if (raw.id2label !== undefined) {
    if (typeof raw.id2label !== "object" || raw.id2label === null)
      reader.fail("'id2label' must be an object");
    for (const [id, label] of Object.entries(raw.id2label as Record<string, unknown>)) {
      if (!/^\d+$/.test(id) || typeof label !== "string") {
        reader.fail(
          `'id2label' maps ids to names; got ${JSON.stringify(id)}: ${JSON.stringify(label)}`,
        );
      }
      id2label[Number(id)] = label;
    }
  } else {
    const count = reader.int("num_labels", 2);
    for (let i = 0; i < count; i++) id2label[i] = `LABEL_${i}`;
  }
  const numLabels = Object.keys(id2label).length;
  for (let i = 0; i < numLabels; i++) {
    if (id2label[i] === undefined)
      reader.fail(`'id2label' must number its labels 0..${numLabels - 1}`);
  }
  const label2id: Record<string, number> = {};
  for (let i = 0; i < numLabels; i++) label2id[id2label[i]] = i;
  return { id2label, label2id, numLabels };
}

export function parseConfig(json: unknown, source: string): ModelConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new UserError(`${source}: a model config must be a JSON object`);
  }
  const raw = json as Record<string, unknown>;
  const reader: ConfigReader = new ConfigReader(raw, source);
  const architectures = Array.isArray(raw.architectures) ? raw.architectures : [];
  if (!architectures.every((name): name is string => typeof name === "string")) {
    throw new UserError(
      `${source}: 'architectures' must be a list of class names such as ["DistilBertForMaskedLM"], got ${JSON.stringify(raw.architectures)}`,
    );
  }
  const problemType = (raw.problem_type ?? null) as ProblemType | null;
  if (problemType !== null && !PROBLEM_TYPES.includes(problemType)) {
    reader.fail(
      `'problem_type' must be one of ${PROBLEM_TYPES.join(", ")}, got ${JSON.stringify(problemType)}`,
    );
  }
  const classifierPooling = (raw.classifier_pooling ?? null) as Pooling | null;
  if (classifierPooling !== null && !POOLINGS.includes(classifierPooling)) {
    reader.fail(
      `'classifier_pooling' must be one of ${POOLINGS.join(", ")}, got ${JSON.stringify(classifierPooling)}`,
    );
  }
  const common = {
    architectures,
    vocabSize: reader.int("vocab_size", 30522),
    maxPositionEmbeddings: reader.int("max_position_embeddings", 512),
    padTokenId: reader.int("pad_token_id", 0, 0),
    initializerRange: reader.number("initializer_range", 0.02),
    problemType,
    classifierPooling,
    raw,
    ...readLabels(raw, reader),
  };
  let config: ModelConfig;
  if (raw.model_type === "distilbert") {
    const hiddenSize = reader.int("dim", 768);
    const dropout = reader.probability("dropout", 0.1);
    config = {
      ...common,
      modelType: "distilbert",
      hiddenSize,
      numLayers: reader.int("n_layers", 6),
      numHeads: reader.int("n_heads", 12),
      intermediateSize: reader.int("hidden_dim", 4 * hiddenSize),
      activation: reader.activation("activation"),
      sinusoidalPosEmbds: raw.sinusoidal_pos_embds === true,
      typeVocabSize: 0,
      // DistilBERT's LayerNorms use a fixed eps in Hugging Face's code.
      layerNormEps: 1e-12,
      dropout,
      attentionDropout: reader.probability("attention_dropout", 0.1),
      classifierDropout: reader.probability("seq_classif_dropout", 0.2),
      qaDropout: reader.probability("qa_dropout", 0.1),
    };
  } else if (raw.model_type === "bert") {
    const dropout = reader.probability("hidden_dropout_prob", 0.1);
    config = {
      ...common,
      modelType: "bert",
      hiddenSize: reader.int("hidden_size", 768),
      numLayers: reader.int("num_hidden_layers", 12),
      numHeads: reader.int("num_attention_heads", 12),
      intermediateSize: reader.int("intermediate_size", 3072),
      activation: reader.activation("hidden_act"),
      sinusoidalPosEmbds: false,
      typeVocabSize: reader.int("type_vocab_size", 2),
      layerNormEps: reader.number("layer_norm_eps", 1e-12),
      dropout,
      attentionDropout: reader.probability("attention_probs_dropout_prob", 0.1),
      classifierDropout:
        raw.classifier_dropout === null || raw.classifier_dropout === undefined
          ? dropout
          : reader.probability("classifier_dropout", dropout),
      qaDropout: dropout,
    };
  } else {
    reader.fail(
      `unknown model_type ${JSON.stringify(raw.model_type)}: this project runs "distilbert" and "bert" models`,
    );
  }
  if (config.hiddenSize % config.numHeads !== 0) {
    const [dim, heads] =
      config.modelType === "distilbert"
        ? ["dim", "n_heads"]
        : ["hidden_size", "num_attention_heads"];
    reader.fail(
      `${dim} (${config.hiddenSize}) must be a multiple of ${heads} (${config.numHeads})`,
    );
  }
  if (config.sinusoidalPosEmbds && config.hiddenSize % 2 !== 0) {
    reader.fail(`sinusoidal position embeddings need an even dim, got ${config.hiddenSize}`);
  }
  return config;
}

/** The config in Hugging Face's form: the raw JSON with this config's values written over it. */
export function configToJSON(config: ModelConfig): Record<string, unknown> {
  const labels = {
    id2label: Object.fromEntries(
      Object.entries(config.id2label).map(([id, label]) => [String(id), label]),
    ),
    label2id: config.label2id,
  };
  const shared: Record<string, unknown> = {
    ...config.raw,
    architectures: config.architectures,
    model_type: config.modelType,
    vocab_size: config.vocabSize,
    max_position_embeddings: config.maxPositionEmbeddings,
    pad_token_id: config.padTokenId,
    initializer_range: config.initializerRange,
    ...labels,
    problem_type: config.problemType ?? undefined,
    classifier_pooling: config.classifierPooling ?? undefined,
  };
  delete shared.num_labels;
  if (config.modelType === "distilbert") {
    return {
      ...shared,
      dim: config.hiddenSize,
      n_layers: config.numLayers,
      n_heads: config.numHeads,
      hidden_dim: config.intermediateSize,
      activation: config.activation,
      sinusoidal_pos_embds: config.sinusoidalPosEmbds,
      dropout: config.dropout,
      attention_dropout: config.attentionDropout,
      seq_classif_dropout: config.classifierDropout,
      qa_dropout: config.qaDropout,
    };
  }
  return {
    ...shared,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    intermediate_size: config.intermediateSize,
    hidden_act: config.activation,
    type_vocab_size: config.typeVocabSize,
    layer_norm_eps: config.layerNormEps,
    hidden_dropout_prob: config.dropout,
    attention_probs_dropout_prob: config.attentionDropout,
  };
}

/** Parses config.json's text; `source` names the file in errors. */
export function parseConfigText(text: string, source: string): ModelConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(json, source);
}

/**
 * config.json's text; `weightsDtype` records the stored weights' dtype under transformers' key
 * `dtype` (replacing an older `torch_dtype`).
 */
export function configFileText(config: ModelConfig, weightsDtype?: "F32" | "F16"): string {
  const json = configToJSON(config);
  if (weightsDtype) {
    delete json.torch_dtype;
    json.dtype = weightsDtype === "F16" ? "float16" : "float32";
  }
  return `${JSON.stringify(json, null, 2)}\n`;
}
