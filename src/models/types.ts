// What every model (DistilBERT and BERT, every head) offers the rest of the project: the trainer,
// the distiller, the pipelines and the CLI work through these types only.

import type { ModelConfig } from "../io/config.js";
import type { Backend } from "../tensor/backend.js";
import type { Int8Matrix } from "../tensor/int8.js";

/** A weight under its Hugging Face key, with its gradient once training is set up. */
export interface Parameter {
  /** The checkpoint key, e.g. `distilbert.transformer.layer.0.attention.q_lin.weight`. */
  name: string;
  shape: number[];
  /** The float32 values; empty when the weight is held as int8 instead. */
  data: Float32Array;
  /** An int8 model's Linear weights and word embeddings, quantized per row (tensor/int8.ts). */
  int8?: Int8Matrix;
  /** Allocated by `enableGradients`; accumulated into by `backward`. */
  grad: Float32Array | null;
  /**
   * True for a fixed table the model never trains (DistilBERT's sinusoidal position embeddings):
   * its gradient stays zero and optimisers should skip it.
   */
  frozen?: boolean;
  /**
   * A Linear weight of an inference-only model (loadModel's `inference`), held by the backend as
   * a constant: `data` may be a stand-in, not the values.
   */
  inferenceOnly?: boolean;
}

/** How a model holds its Linear weights and word embeddings. */
export type ModelDtype = "float32" | "int8";

export const MODEL_DTYPES: readonly ModelDtype[] = ["float32", "int8"];

export type HeadKind =
  | "base"
  | "masked-lm"
  | "sequence-classification"
  | "token-classification"
  | "question-answering"
  | "multiple-choice";

/** One batch. Token arrays are [batch, seq], or [batch, choices, seq] for multiple choice. */
export interface ModelInputs {
  inputIds: Int32Array;
  /** 1 attend, 0 padding; all ones when absent. */
  attentionMask?: Float32Array;
  /** BERT only; zeros when absent. */
  tokenTypeIds?: Int32Array;
  batch: number;
  seq: number;
  /** Multiple choice only. */
  choices?: number;
}

/** Labels as Hugging Face takes them; the head decides which apply. */
export interface ModelLabels {
  /** Class ids, token labels (-100 ignored), MLM labels (-100 ignored) or choice ids. */
  labels?: Int32Array;
  /** Regression targets or multi-label 0/1 targets, [batch, numLabels] or [batch]. */
  floatLabels?: Float32Array;
  startPositions?: Int32Array;
  endPositions?: Int32Array;
}

export interface ForwardOptions {
  outputHiddenStates?: boolean;
  outputAttentions?: boolean;
  /** Training mode: dropout on (seeded by `dropoutSeed`) and activations kept for `backward`. */
  train?: boolean;
  /**
   * Dropout on or off; defaults to `train`. `train: true, dropout: false` gives gradients
   * comparable with PyTorch's in eval mode.
   */
  dropout?: boolean;
  /**
   * Seeds this forward's dropout masks (reproducible steps); without it the model draws from
   * its own generator, seeded 0 at creation.
   */
  dropoutSeed?: number;
}

/**
 * What forward returns. The arrays are views of the model's reusable buffers: they stay valid
 * until the next forward call; copy what must outlive it.
 */
export interface ModelOutputs {
  /** [batch (x choices), seq, hidden]. */
  lastHiddenState: Float32Array;
  /** [batch, seq, vocab] (MLM), [batch, labels], [batch, seq, labels] or [batch, choices]. */
  logits?: Float32Array;
  startLogits?: Float32Array;
  endLogits?: Float32Array;
  /** BERT's pooler: [batch, hidden]. */
  poolerOutput?: Float32Array;
  /** Embeddings output then each layer's output, each [batch (x choices), seq, hidden]. */
  hiddenStates?: Float32Array[];
  /** Each layer's attention probabilities, [batch (x choices), heads, seq, seq]. */
  attentions?: Float32Array[];
  /** Present when labels were given: Hugging Face's loss for the head. */
  loss?: number;
}

/** Gradients flowing into the model's outputs; `backward` accumulates into every param.grad. */
export interface OutputGradients {
  dLogits?: Float32Array;
  dStartLogits?: Float32Array;
  dEndLogits?: Float32Array;
  /** For losses on the hidden states (distillation's cosine loss). */
  dLastHiddenState?: Float32Array;
}

export interface Model {
  readonly architecture: string;
  readonly head: HeadKind;
  readonly config: ModelConfig;
  readonly backend: Backend;
  /** "int8" when the Linear weights and word embeddings are held as int8 (inference only). */
  readonly dtype: ModelDtype;
  /** Every parameter in checkpoint order, tied ones once (under the checkpoint's key). */
  readonly parameters: Parameter[];
  forward(inputs: ModelInputs, labels?: ModelLabels, options?: ForwardOptions): ModelOutputs;
  /** Allocates param.grad for every parameter (zeroed). */
  enableGradients(): void;
  zeroGradients(): void;
  /**
   * Back-propagates from the last forward (which must have had `train: true`). With no argument,
   * from the loss computed from the labels given to that forward; with gradients, from those only
   * (their sum when several are given). Allocates the gradients first if needed.
   */
  backward(gradients?: OutputGradients): void;
  /**
   * Gives the model's memory (weights, gradients, buffers) back to its backend, which matters
   * where the backend's memory is not garbage-collected (WebAssembly); the model cannot be used
   * after.
   */
  dispose(): void;
  /**
   * Gives back the scratch buffers forward and backward keep between calls, which grow to the
   * largest batch seen (hundreds of MB after one long batch); the next call allocates again.
   */
  releaseBuffers(): void;
}
