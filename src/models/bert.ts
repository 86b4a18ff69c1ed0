// BERT (token types, pooler) with the masked-LM and sequence-classification heads, under Hugging
// Face's parameter names: the base model's keys have no prefix; a head model's start with `bert.`.

import { UserError } from "../errors.js";
import type { ModelConfig } from "../io/config.js";
import type { Backend } from "../tensor/backend.js";
import { Encoder, type EncoderNames } from "./encoder.js";
import { FirstTokenHead, type Head, MaskedLMHead } from "./heads.js";
import { TransformerModel } from "./model.js";
import type { HeadKind } from "./types.js";
import { makeLinear, makeNorm, type ParameterFactory } from "./weights.js";

export const BERT_ARCHITECTURES: Partial<Record<HeadKind, string>> = {
  base: "BertModel",
  "masked-lm": "BertForMaskedLM",
  "sequence-classification": "BertForSequenceClassification",
};

const PREFIX = "bert.";
const DECODER_BIAS = "cls.predictions.bias";

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

/**
 * Other keys a BERT tensor may be stored under: a base checkpoint in a head model and back, and
 * the decoder bias saved as `cls.predictions.decoder.bias` by some versions.
 */
export function bertAliases(head: HeadKind): (name: string) => string[] {
  return (name) => {
    if (name === DECODER_BIAS) return ["cls.predictions.decoder.bias"];
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
  const architecture = BERT_ARCHITECTURES[head];
  if (!architecture) {
    throw new UserError(
      `BERT with a ${head} head is not supported; supported: ${Object.values(BERT_ARCHITECTURES).join(", ")}`,
    );
  }
  const prefix = head === "base" ? "" : PREFIX;
  const encoder = new Encoder(backend, config, factory, encoderNames(prefix), true);
  const h = config.hiddenSize;
  let headImpl: Head;
  if (head === "masked-lm") {
    headImpl = new MaskedLMHead(
      backend,
      makeLinear(factory, "cls.predictions.transform.dense", h, h, "head"),
      makeNorm(factory, "cls.predictions.transform.LayerNorm", h, config.layerNormEps, "head"),
      encoder.word,
      factory.make(DECODER_BIAS, [config.vocabSize], "zeros", "head"),
      config.activation,
    );
  } else {
    const pooler = makeLinear(factory, `${prefix}pooler.dense`, h, h, "head");
    const classifier =
      head === "sequence-classification"
        ? makeLinear(factory, "classifier", h, config.numLabels, "head")
        : null;
    headImpl = new FirstTokenHead(
      backend,
      classifier ? "sequence-classification" : "pooler",
      pooler,
      "tanh",
      classifier,
      config.classifierDropout,
      config.problemType,
    );
  }
  return new TransformerModel(
    architecture,
    head,
    config,
    backend,
    factory.parameters,
    factory.initialized,
    encoder,
    headImpl,
  );
}
