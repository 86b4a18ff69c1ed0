// BERT (token types, pooler) with each of Hugging Face's heads, under Hugging Face's parameter
// names: the base model's keys have no prefix; a head model's start with `bert.`.

import type { ModelConfig } from "../io/config.js";
import type { Backend } from "../tensor/backend.js";
import { type ArchitectureKeys, Encoder, type EncoderNames } from "./encoder.js";
import {
  FirstTokenHead,
  type Head,
  MaskedLMHead,
  normalizedEmbeddingHead,
  QuestionAnsweringHead,
  TokenClassificationHead,
} from "./heads.js";
import { TransformerModel } from "./model.js";
import type { HeadKind } from "./types.js";
import { makeLinear, makeNorm, type ParameterFactory } from "./weights.js";

export const BERT_ARCHITECTURES: Record<HeadKind, string> = {
  base: "BertModel",
  "masked-lm": "BertForMaskedLM",
  "sequence-classification": "BertForSequenceClassification",
  "token-classification": "BertForTokenClassification",
  "question-answering": "BertForQuestionAnswering",
  "multiple-choice": "BertForMultipleChoice",
};

function encoderNames(prefix: string): EncoderNames {
  return {
    wordEmbeddings: `${prefix}embeddings.word_embeddings`,
    positionEmbeddings: `${prefix}embeddings.position_embeddings`,
    tokenTypeEmbeddings: `${prefix}embeddings.token_type_embeddings`,
    embeddingNorm: `${prefix}embeddings.LayerNorm`,
    layer: (i) => {
      const layer = `${prefix}encoder.layer.${i}`;
      return {
        query: `${layer}.attention.self.query`,
        key: `${layer}.attention.self.key`,
        value: `${layer}.attention.self.value`,
        attentionOutput: `${layer}.attention.output.dense`,
        attentionNorm: `${layer}.attention.output.LayerNorm`,
        ffnIn: `${layer}.intermediate.dense`,
        ffnOut: `${layer}.output.dense`,
        outputNorm: `${layer}.output.LayerNorm`,
      };
    },
  };
}

export const BERT_KEYS: ArchitectureKeys = {
  prefix: "bert.",
  encoder: encoderNames,
  maskedLm: {
    dense: "cls.predictions.transform.dense",
    norm: "cls.predictions.transform.LayerNorm",
    bias: "cls.predictions.bias",
    biasAliases: ["cls.predictions.decoder.bias"],
  },
  firstTokenDense: (prefix) => `${prefix}pooler.dense`,
};
const PREFIX = BERT_KEYS.prefix;
const MLM = BERT_KEYS.maskedLm;

/**
 * Other keys a BERT tensor may be stored under: a base checkpoint in a head model and back, and
 * the decoder bias saved as `cls.predictions.decoder.bias` by some versions.
 */
export function bertAliases(head: HeadKind): (name: string) => string[] {
  return (name) => {
    if (name === MLM.bias) return MLM.biasAliases;
    if (head === "base") return [PREFIX + name];
    return name.startsWith(PREFIX) ? [name.slice(PREFIX.length)] : [];
  };
}

export function createBert(
  config: ModelConfig,
  head: HeadKind,
  factory: ParameterFactory,
  backend: Backend,
): TransformerModel {
  const prefix = head === "base" ? "" : PREFIX;
  const encoder = new Encoder(backend, config, factory, BERT_KEYS.encoder(prefix), true);
  const h = config.hiddenSize;
  let headImpl: Head;
  switch (head) {
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
    case "base":
    case "sequence-classification":
    case "multiple-choice": {
      if (head === "sequence-classification" && config.classifierPooling !== null) {
        headImpl = normalizedEmbeddingHead(config, config.classifierPooling, factory, backend);
        break;
      }
      const pooler = makeLinear(factory, BERT_KEYS.firstTokenDense(prefix), h, h, "head");
      const outputs = head === "multiple-choice" ? 1 : config.numLabels;
      const classifier =
        head === "base" ? null : makeLinear(factory, "classifier", h, outputs, "head");
      headImpl = new FirstTokenHead(
        backend,
        head === "base" ? "pooler" : head,
        pooler,
        "tanh",
        classifier,
        config.classifierDropout,
        config.problemType,
      );
      break;
    }
    case "token-classification":
      headImpl = new TokenClassificationHead(
        backend,
        makeLinear(factory, "classifier", h, config.numLabels, "head"),
        config.classifierDropout,
      );
      break;
    case "question-answering":
      // No dropout before qa_outputs in Hugging Face's BertForQuestionAnswering.
      headImpl = new QuestionAnsweringHead(
        backend,
        makeLinear(factory, "qa_outputs", h, 2, "head"),
        0,
      );
      break;
  }
  return new TransformerModel(
    BERT_ARCHITECTURES[head],
    head,
    config,
    backend,
    factory.parameters,
    factory.initialized,
    encoder,
    headImpl,
  );
}
