// The kernel interface the models call. Every array is row-major float32. Arrays passed to a
// backend should come from its own `alloc`, so a WebAssembly backend can work on them in place
// (an array from elsewhere still works, at the cost of a copy).
//
// Shapes use these names: rows = batch * seq tokens, hidden = heads * headDim.

import type { Int8Matrix } from "./int8.js";

export type BackendName = "reference" | "wasm" | "native";

export type Activation = "gelu" | "relu" | "silu" | "gelu_new";

export interface MatmulOptions {
  /** A is stored [k, m] and used transposed. */
  transA?: boolean;
  /** B is stored [n, k] and used transposed (a PyTorch Linear weight [out, in]). */
  transB?: boolean;
  /** Add the product into C instead of overwriting it (gradient accumulation). */
  accumulate?: boolean;
  /** bias[n] added to every row of C. */
  bias?: Float32Array;
  /**
   * [m, n] added to the result (a residual connection): C = residual + op(A) op(B) (+ bias). It
   * takes the place of C's old value, so `accumulate` has no effect with it.
   */
  residual?: Float32Array;
  /**
   * B is a weight that stays as it is between calls (inference): the backend may keep it
   * repacked, keyed by the array, until the array next goes through its `adamw`. Only for arrays
   * that change in no other way.
   */
  constantB?: boolean;
}

export interface MatmulInt8Options {
  /** bias[n] added to every row of C. */
  bias?: Float32Array;
  /** [m, n] added to the result (a residual connection). */
  residual?: Float32Array;
}

export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count, for bias correction. */
  step: number;
}

/** A word-embedding table [vocab, dim]: float32, or int8 with a scale per row. */
export type EmbeddingTable = Float32Array | Int8Matrix;

/** The token-type table [types, dim] and each row's type. */
export interface TokenTypeLookup {
  table: Float32Array;
  ids: Int32Array;
}

/** The rows Backend.embeddingsSum adds up: each row's word, position and token type. */
export interface EmbeddingLookup {
  word: EmbeddingTable;
  ids: Int32Array;
  position: Float32Array;
  positionIds: Int32Array;
  tokenType: TokenTypeLookup | null;
}

/**
 * The attention mask value Hugging Face writes into masked scores before the softmax:
 * the float32 minimum.
 */
export const MASKED_SCORE = -3.4028234663852886e38;

export interface Backend {
  readonly name: BackendName;
  readonly threads: number;

  /** A zero-filled array the backend can compute on without copying. */
  alloc(length: number): Float32Array;

  /**
   * Gives back an array `alloc` returned, or the packed copy kept of an int8 weight, for reuse;
   * neither may be used after. Where the garbage collector frees the memory, this does nothing.
   */
  free(memory: Float32Array | Int8Matrix): void;

  /** Stops the backend's threads and lets go of its memory; nothing may be called after. */
  dispose(): void;

  /**
   * A Linear weight W [n, k] for inference only: the array to pass as `b` of
   * matmul(x, b, ..., { transB: true, constantB: true }) from now on. A backend that packs
   * weights packs W now and returns a stand-in, so that W itself can be freed (the packed copy
   * replaces it, not beside it); the others return W.
   */
  constantWeight(weight: Float32Array, n: number, k: number): Float32Array;

  /** C[m, n] (+)= op(A) op(B) (+ bias): op(A) is [m, k], op(B) is [k, n]. */
  matmul(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    m: number,
    n: number,
    k: number,
    options?: MatmulOptions,
  ): void;

  /**
   * C[m, n] = A[m, k] B^T (+ bias) (+ residual) with B an int8 weight [n, k] (int8.ts): each row
   * of A is quantized to 8 bits first, the product summed in int32 and scaled back. The backend
   * may keep B repacked, keyed by the object, for as long as it lives (B never changes).
   */
  matmulInt8(
    a: Float32Array,
    b: Int8Matrix,
    c: Float32Array,
    m: number,
    options?: MatmulInt8Options,
  ): void;

  /**
   * out [rows, dim] = word[ids] + position[positionIds] (+ tokenType.table[tokenType.ids]), in
   * float32; an int8 word table is dequantized as int8.ts does. Every id must be a row of its
   * table (the model checks them first; the native addon checks again rather than read past one).
   */
  embeddingsSum(lookup: EmbeddingLookup, out: Float32Array, rows: number, dim: number): void;

  /**
   * Self-attention over heads. q, k, v, out: [batch, seq, heads * headDim]; keyMask: [batch, seq]
   * (1 attend, 0 masked: the score becomes MASKED_SCORE); probs: [batch, heads, seq, seq], the
   * softmax of q k^T / sqrt(headDim), written for the caller. dropoutMask, when given, has probs'
   * shape and holds 0 or 1/(1-p); it multiplies probs before they weight v (probs stay undropped).
   */
  attentionForward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    keyMask: Float32Array,
    probs: Float32Array,
    out: Float32Array,
    batch: number,
    seq: number,
    heads: number,
    headDim: number,
    dropoutMask?: Float32Array,
  ): void;

  /** Gradients of attentionForward; dq, dk, dv are overwritten. */
  attentionBackward(
    dOut: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    probs: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    batch: number,
    seq: number,
    heads: number,
    headDim: number,
    dropoutMask?: Float32Array,
  ): void;

  /** out[rows, dim] = LayerNorm(x) * gamma + beta; saves mean[rows] and rstd[rows]. */
  layerNormForward(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    out: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    rows: number,
    dim: number,
    eps: number,
  ): void;

  /** dx is overwritten; dGamma and dBeta are accumulated into. */
  layerNormBackward(
    dOut: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    dGamma: Float32Array,
    dBeta: Float32Array,
    rows: number,
    dim: number,
  ): void;

  /** out[i] = f(x[i]) for the first n elements; out may be x. */
  activationForward(kind: Activation, x: Float32Array, out: Float32Array, n: number): void;

  /** dx[i] = f'(x[i]) * dOut[i], x being the activation's input; dx may be dOut. */
  activationBackward(
    kind: Activation,
    x: Float32Array,
    dOut: Float32Array,
    dx: Float32Array,
    n: number,
  ): void;

  /** out[cols] (+)= column sums of x[rows, cols] (a bias gradient). */
  sumRows(
    x: Float32Array,
    out: Float32Array,
    rows: number,
    cols: number,
    accumulate: boolean,
  ): void;

  /** Sum of squares of the first n elements (for the global gradient norm), in float64. */
  sumOfSquares(x: Float32Array, n: number): number;

  /** One decoupled-weight-decay Adam step as torch.optim.AdamW, in place on param, m and v. */
  adamw(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    step: AdamWStep,
  ): void;

  /**
   * The logit terms of distillation's loss (src/distill/losses.ts), row by row over student,
   * teacher and dStudent: [rows, vocab]. soft[r] = 1 where the soft-target and MSE terms apply;
   * labels[r] is the hard target, or -100 for none. Writes rowLosses[rows, 3] = (KL(softmax(t/T)
   * || softmax(s/T)), cross-entropy of s at the label, sum of (s - t)^2) and overwrites dStudent
   * with ceScale (softmax(s/T) - softmax(t/T)) + mlmScale (softmax(s) - onehot(label)) +
   * mseScale (s - t), zero on rows no term applies to. A soft term whose scale is 0 is skipped
   * and its loss written as 0.
   */
  logitLosses(
    student: Float32Array,
    teacher: Float32Array,
    soft: Uint8Array,
    labels: Int32Array,
    dStudent: Float32Array,
    rowLosses: Float32Array,
    rows: number,
    vocab: number,
    losses: LogitLossScales,
  ): void;
}

export interface LogitLossScales {
  temperature: number;
  /** Multiplies softmax(s/T) - softmax(t/T) in dStudent. */
  ceScale: number;
  /** Multiplies softmax(s) - onehot(label) in dStudent. */
  mlmScale: number;
  /** Multiplies s - t in dStudent. */
  mseScale: number;
}
