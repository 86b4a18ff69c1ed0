// DistilBERT with each of Hugging Face's heads, under Hugging Face's parameter names. The base
// model's keys have no prefix; a head model's encoder keys start with `distilbert.`.

import type { ModelConfig } from "../io/config.js";
import type { Backend } from "../tensor/backend.js";
import { type ArchitectureKeys, Encoder, type EncoderNames } from "./encoder.js";
import {
  FirstTokenHead,
  type Head,
  MaskedLMHead,
  NoHead,
  normalizedEmbeddingHead,
  QuestionAnsweringHead,
  TokenClassificationHead,
} from "./heads.js";
import { TransformerModel } from "./model.js";
import type { HeadKind } from "./types.js";
import { makeLinear, makeNorm, type ParameterFactory } from "./weights.js";

export const DISTILBERT_ARCHITECTURES: Record<HeadKind, string> = {
  base: "DistilBertModel",
  "masked-lm": "DistilBertForMaskedLM",
  "sequence-classification": "DistilBertForSequenceClassification",
  "token-classification": "DistilBertForTokenClassification",
  "question-answering": "DistilBertForQuestionAnswering",
  "multiple-choice": "DistilBertForMultipleChoice",
};

function encoderNames(prefix: string): EncoderNames {
  return {
    wordEmbeddings: `${prefix}embeddings.word_embeddings`,
    positionEmbeddings: `${prefix}embeddings.position_embeddings`,
    tokenTypeEmbeddings: null,
    embeddingNorm: `${prefix}embeddings.LayerNorm`,
    layer: (i) => {
      const layer = `${prefix}transformer.layer.${i}`;
      return {
        query: `${layer}.attention.q_lin`,
        key: `${layer}.attention.k_lin`,
        value: `${layer}.attention.v_lin`,
        attentionOutput: `${layer}.attention.out_lin`,
        attentionNorm: `${layer}.sa_layer_norm`,
        ffnIn: `${layer}.ffn.lin1`,
        ffnOut: `${layer}.ffn.lin2`,
        outputNorm: `${layer}.output_layer_norm`,
      };
    },
  };
}

export const DISTILBERT_KEYS: ArchitectureKeys = {
  prefix: "distilbert.",
  encoder: encoderNames,
  maskedLm: {
    dense: "vocab_transform",
    norm: "vocab_layer_norm",
    bias: "vocab_projector.bias",
    biasAliases: [],
  },
  firstTokenDense: () => "pre_classifier",
};
const PREFIX = DISTILBERT_KEYS.prefix;
const MLM = DISTILBERT_KEYS.maskedLm;

/** Other keys a DistilBERT tensor may be stored under: a base checkpoint in a head model and back. */
export function distilBertAliases(head: HeadKind): (name: string) => string[] {
  if (head === "base") return (name) => [PREFIX + name];
  return (name) => (name.startsWith(PREFIX) ? [name.slice(PREFIX.length)] : []);
}

export function createDistilBert(
  config: ModelConfig,
  head: HeadKind,
  factory: ParameterFactory,
  backend: Backend,
): TransformerModel {
  const encoder = new Encoder(
    backend,
    config,
    factory,
    DISTILBERT_KEYS.encoder(head === "base" ? "" : PREFIX),
    false,
  );
  const h = config.hiddenSize;
  let headImpl: Head;
  switch (head) {
    case "base":
      headImpl = new NoHead();
      break;
    case "masked-lm":
      headImpl = new MaskedLMHead(
        backend,
        makeLinear(factory, MLM.dense, h, h, "head"),
        makeNorm(factory, MLM.norm, h, config.layerNormEps, "head"),
        encoder.word,
        factory.make(MLM.bias, [config.vocabSize], "zeros", "head"),
        config.activation,
      );
      break;
    case "sequence-classification":
    case "multiple-choice":
      if (head === "sequence-classification" && config.classifierPooling !== null) {
        headImpl = normalizedEmbeddingHead(config, config.classifierPooling, factory, backend);
        break;
      }
      headImpl = new FirstTokenHead(
        backend,
        head,
        makeLinear(factory, DISTILBERT_KEYS.firstTokenDense(""), h, h, "head"),
        "relu",
        makeLinear(
          factory,
          "classifier",
          h,
          head === "multiple-choice" ? 1 : config.numLabels,
          "head",
        ),
        config.classifierDropout,
        config.problemType,
      );
      break;
    case "token-classification":
      headImpl = new TokenClassificationHead(
        backend,
        makeLinear(factory, "classifier", h, config.numLabels, "head"),
        config.dropout,
      );
      break;
    case "question-answering":
      headImpl = new QuestionAnsweringHead(
        backend,
        makeLinear(factory, "qa_outputs", h, 2, "head"),
        config.qaDropout,
      );
      break;
  }
  return new TransformerModel(
    DISTILBERT_ARCHITECTURES[head],
    head,
    config,
    backend,
    factory.parameters,
    factory.initialized,
    encoder,
    headImpl,
  );
}
