// DistilBERT's student initialisation: a student with fewer layers built from a teacher's weights.
// The embeddings and the task head are copied, and the student's layer i takes the weights of a
// chosen teacher layer, so the student starts close to the teacher instead of from noise.

import { UserError } from "../errors.js";
import { type ModelConfig, parseConfig } from "../io/config-format.js";
import type { Checkpoint } from "../io/safetensors-format.js";
import { architectureKeys, type WeightSource } from "../models/create.js";
import { DISTILBERT_KEYS } from "../models/distilbert.js";
import type { Tensor } from "../models/folder-format.js";

/** The student as weights under DistilBERT's Hugging Face keys, with its config. */
export interface StudentWeights {
  config: ModelConfig;
  weights: Map<string, Tensor>;
  /** The teacher layer each student layer was copied from. */
  teacherLayers: number[];
}

export interface StudentOptions {
  /** Number of student layers. */
  layers: number;
  /** Which teacher layers to copy; default evenly spaced, first and last kept. */
  teacherLayers?: number[];
  /** Add the teacher's type-0 token-type embedding into every position embedding (BERT only). */
  foldTokenType?: boolean;
}

type Head = "masked-lm" | "sequence-classification";

/** Evenly spaced teacher layers keeping the first and the last: 12 -> 6 gives [0, 2, 4, 7, 9, 11]. */
export function defaultTeacherLayers(teacherLayers: number, studentLayers: number): number[] {
  if (studentLayers === 1) return [teacherLayers - 1];
  return Array.from({ length: studentLayers }, (_, i) =>
    Math.round((i * (teacherLayers - 1)) / (studentLayers - 1)),
  );
}

// BERT's layer keys (after `encoder.layer.N.`) and DistilBERT's (after `transformer.layer.N.`).
function teacherHead(config: ModelConfig, source: string): Head {
  const architecture = config.architectures[0] ?? "";
  if (architecture.endsWith("ForMaskedLM")) return "masked-lm";
  if (architecture.endsWith("ForSequenceClassification")) return "sequence-classification";
  throw new UserError(
    `${source}: the teacher is ${architecture || "a model without 'architectures'"}; distillation needs a BertForMaskedLM / DistilBertForMaskedLM or a ...ForSequenceClassification teacher`,
  );
}

function studentConfig(teacher: ModelConfig, layers: number, head: Head): ModelConfig {
  const raw: Record<string, unknown> = {
    architectures: [
      head === "masked-lm" ? "DistilBertForMaskedLM" : "DistilBertForSequenceClassification",
    ],
    model_type: "distilbert",
    activation: teacher.activation,
    dim: teacher.hiddenSize,
    hidden_dim: teacher.intermediateSize,
    n_heads: teacher.numHeads,
    n_layers: layers,
    vocab_size: teacher.vocabSize,
    max_position_embeddings: teacher.maxPositionEmbeddings,
    sinusoidal_pos_embds: teacher.sinusoidalPosEmbds,
    dropout: teacher.dropout,
    attention_dropout: teacher.attentionDropout,
    qa_dropout: teacher.qaDropout,
    seq_classif_dropout: teacher.classifierDropout,
    initializer_range: teacher.initializerRange,
    pad_token_id: teacher.padTokenId,
    tie_word_embeddings: true,
  };
  if (head === "sequence-classification") {
    raw.id2label = teacher.id2label;
    raw.label2id = teacher.label2id;
    if (teacher.problemType) raw.problem_type = teacher.problemType;
  }
  return parseConfig(raw, "student config");
}

/** Builds the student's weights from a BERT or DistilBERT teacher (MLM or classifier). */
export function initStudent(
  teacherConfig: ModelConfig,
  teacher: Checkpoint,
  options: StudentOptions,
  source = "the teacher",
): StudentWeights {
  const teacherCount = teacherConfig.numLayers;
  const { layers } = options;
  if (!Number.isInteger(layers) || layers < 1 || layers > teacherCount) {
    throw new UserError(
      `the student needs between 1 and ${teacherCount} layers (the teacher's count), got ${layers}`,
    );
  }
  const teacherLayers = options.teacherLayers ?? defaultTeacherLayers(teacherCount, layers);
  if (teacherLayers.length !== layers) {
    throw new UserError(
      `--teacher-layers lists ${teacherLayers.length} layers but the student has ${layers}`,
    );
  }
  for (const layer of teacherLayers) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= teacherCount) {
      throw new UserError(
        `teacher layer ${layer} does not exist: the teacher has layers 0..${teacherCount - 1}`,
      );
    }
  }
  const head = teacherHead(teacherConfig, source);
  if (options.foldTokenType && teacherConfig.modelType !== "bert") {
    throw new UserError("--fold-token-type needs a BERT teacher: DistilBERT has no token types");
  }

  const read = (key: string): Tensor => {
    if (!teacher.has(key)) {
      throw new UserError(`${source} has no weight '${key}': is it a Hugging Face checkpoint?`);
    }
    // A copy: the student must not share (or alias a read-only view of) the teacher's memory.
    return { shape: teacher.info(key).shape, data: Float32Array.from(teacher.float32(key)) };
  };
  const firstPresent = (keys: string[]): Tensor =>
    read(keys.find((k) => teacher.has(k)) ?? keys[0]);
  const teacherKeys = architectureKeys(teacherConfig);
  const from = teacherKeys.encoder(teacherKeys.prefix);
  const to = DISTILBERT_KEYS.encoder(DISTILBERT_KEYS.prefix);
  const weights = new Map<string, Tensor>();
  /** Copies a Linear or LayerNorm (its weight and bias). */
  const copy = (student: string, teacherKey: string) => {
    for (const part of ["weight", "bias"]) {
      weights.set(`${student}.${part}`, read(`${teacherKey}.${part}`));
    }
  };

  weights.set(`${to.wordEmbeddings}.weight`, read(`${from.wordEmbeddings}.weight`));
  const positions = read(`${from.positionEmbeddings}.weight`);
  if (options.foldTokenType) {
    const typeZero = read(`${from.tokenTypeEmbeddings}.weight`).data;
    const dim = teacherConfig.hiddenSize;
    for (let i = 0; i < positions.data.length; i++) positions.data[i] += typeZero[i % dim];
  }
  weights.set(`${to.positionEmbeddings}.weight`, positions);
  copy(to.embeddingNorm, from.embeddingNorm);
  teacherLayers.forEach((teacherLayer, studentLayer) => {
    const source = from.layer(teacherLayer);
    const target = to.layer(studentLayer);
    for (const name of Object.keys(target) as (keyof typeof target)[]) {
      copy(target[name], source[name]);
    }
  });

  if (head === "masked-lm") {
    const mlmFrom = teacherKeys.maskedLm;
    const mlmTo = DISTILBERT_KEYS.maskedLm;
    copy(mlmTo.dense, mlmFrom.dense);
    copy(mlmTo.norm, mlmFrom.norm);
    // The projector's weight is tied to the word embeddings; only its bias is stored.
    weights.set(mlmTo.bias, firstPresent([mlmFrom.bias, ...mlmFrom.biasAliases]));
  } else {
    // DistilBERT's classifier sits on a dense+ReLU over [CLS]; BERT's pooler is a dense+tanh
    // over [CLS]: the closest start for pre_classifier.
    copy(DISTILBERT_KEYS.firstTokenDense(""), teacherKeys.firstTokenDense(teacherKeys.prefix));
    copy("classifier", "classifier");
  }
  return { config: studentConfig(teacherConfig, layers, head), weights, teacherLayers };
}

/** The weights as a source models can be created from. */
export function weightSource(weights: Map<string, Tensor>): WeightSource {
  const get = (name: string): Tensor => {
    const tensor = weights.get(name);
    if (!tensor) throw new Error(`no weight '${name}'`);
    return tensor;
  };
  return {
    has: (name) => weights.has(name),
    info: (name) => ({ name, dtype: "F32", shape: get(name).shape }),
    float32: (name) => get(name).data,
  };
}
