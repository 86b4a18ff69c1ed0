// The building blocks every model is made of, each forward beside its backward (llm.c style).
// Shapes are in the comment above each function; `rows` is batch * seq tokens. Backward functions
// accumulate into the parameters' gradients and overwrite (or add to, where stated) their dx.

import type { Activation, Backend } from "../tensor/backend.js";
import type { Rng } from "./rng.js";
import type { Parameter } from "./types.js";

/** A PyTorch Linear: weight [out, in], bias [out]. */
export interface LinearParams {
  weight: Parameter;
  bias: Parameter;
  inDim: number;
  outDim: number;
}

/** A LayerNorm's gamma and beta, [dim] each. */
export interface NormParams {
  weight: Parameter;
  bias: Parameter;
  dim: number;
  eps: number;
}

/** The gradient buffer of a parameter; a bug to ask before `enableGradients`. */
export function gradOf(param: Parameter): Float32Array {
  if (!param.grad) throw new Error(`no gradient buffer for ${param.name}: call enableGradients`);
  return param.grad;
}

export interface LinearForwardOptions {
  /** An inference forward: the backend may keep the weight packed between calls. */
  inference?: boolean;
  /** [rows, out] added to the result (a residual connection). */
  residual?: Float32Array;
}

// x [rows, in] -> out [rows, out] (+ residual)
export function linearForward(
  backend: Backend,
  p: LinearParams,
  x: Float32Array,
  out: Float32Array,
  rows: number,
  options: LinearForwardOptions = {},
): void {
  const { int8 } = p.weight;
  if (int8) {
    backend.matmulInt8(x, int8, out, rows, { bias: p.bias.data, residual: options.residual });
    return;
  }
  backend.matmul(x, p.weight.data, out, rows, p.outDim, p.inDim, {
    transB: true,
    bias: p.bias.data,
    constantB: options.inference,
    residual: options.residual,
  });
}

// dOut [rows, out] -> dx [rows, in] (overwritten, or added to when accumulateDx); dW, db accumulated
export function linearBackward(
  backend: Backend,
  p: LinearParams,
  x: Float32Array,
  dOut: Float32Array,
  dx: Float32Array | null,
  rows: number,
  accumulateDx = false,
): void {
  backend.matmul(dOut, x, gradOf(p.weight), p.outDim, p.inDim, rows, {
    transA: true,
    accumulate: true,
  });
  backend.sumRows(dOut, gradOf(p.bias), rows, p.outDim, true);
  if (dx) {
    backend.matmul(dOut, p.weight.data, dx, rows, p.inDim, p.outDim, { accumulate: accumulateDx });
  }
}

// x [rows, dim] -> out [rows, dim], mean and rstd [rows] saved for the backward
export function layerNormForward(
  backend: Backend,
  p: NormParams,
  x: Float32Array,
  out: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  rows: number,
): void {
  backend.layerNormForward(x, p.weight.data, p.bias.data, out, mean, rstd, rows, p.dim, p.eps);
}

// dOut [rows, dim] -> dx [rows, dim] (overwritten)
export function layerNormBackward(
  backend: Backend,
  p: NormParams,
  x: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  dOut: Float32Array,
  dx: Float32Array,
  rows: number,
): void {
  backend.layerNormBackward(
    dOut,
    x,
    p.weight.data,
    mean,
    rstd,
    dx,
    gradOf(p.weight),
    gradOf(p.bias),
    rows,
    p.dim,
  );
}

// dOut [rows, dim] -> dTable [vocab, dim] accumulated; the padding row gets no gradient (PyTorch)
export function embeddingBackward(
  dOut: Float32Array,
  ids: Int32Array,
  dTable: Float32Array,
  rows: number,
  dim: number,
  paddingIdx: number | null,
): void {
  for (let r = 0; r < rows; r++) {
    if (ids[r] === paddingIdx) continue;
    const dst = ids[r] * dim;
    const src = r * dim;
    for (let i = 0; i < dim; i++) dTable[dst + i] += dOut[src + i];
  }
}

// x [n] -> out [n] = f(x); out may be x
export function activationForward(
  backend: Backend,
  kind: Activation,
  x: Float32Array,
  out: Float32Array,
  n: number,
): void {
  backend.activationForward(kind, x, out, n);
}

// dOut [n] -> dx [n] = f'(x) dOut; dx may be dOut
export function activationBackward(
  backend: Backend,
  kind: Activation,
  x: Float32Array,
  dOut: Float32Array,
  dx: Float32Array,
  n: number,
): void {
  backend.activationBackward(kind, x, dOut, dx, n);
}

// x [n] -> out [n] = tanh(x) (BERT's pooler)
export function tanhForward(x: Float32Array, out: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]);
}

// dOut [n] -> dx [n] = (1 - y^2) dOut, y being the forward's output; dx may be dOut
export function tanhBackward(
  y: Float32Array,
  dOut: Float32Array,
  dx: Float32Array,
  n: number,
): void {
  for (let i = 0; i < n; i++) dx[i] = (1 - y[i] * y[i]) * dOut[i];
}

// mask [n] = 0 with probability p, else 1 / (1 - p): PyTorch's inverted dropout
export function dropoutMask(rng: Rng, mask: Float32Array, n: number, p: number): void {
  const keep = 1 / (1 - p);
  for (let i = 0; i < n; i++) mask[i] = rng.float32() < p ? 0 : keep;
}

// x [n] -> out [n] = x * mask (dropout forward; its backward is the same product on dOut)
export function dropoutApply(
  x: Float32Array,
  mask: Float32Array,
  out: Float32Array,
  n: number,
): void {
  for (let i = 0; i < n; i++) out[i] = x[i] * mask[i];
}

// out [n] += x [n]
export function addInto(out: Float32Array, x: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] += x[i];
}

// hidden [batch, seq, dim] -> out [batch, dim]: each sequence's first ([CLS]) token
export function firstTokenForward(
  hidden: Float32Array,
  out: Float32Array,
  batch: number,
  seq: number,
  dim: number,
): void {
  for (let b = 0; b < batch; b++) {
    out.set(hidden.subarray(b * seq * dim, b * seq * dim + dim), b * dim);
  }
}

// dOut [batch, dim] -> dHidden [batch, seq, dim] accumulated at each first token
export function firstTokenBackward(
  dOut: Float32Array,
  dHidden: Float32Array,
  batch: number,
  seq: number,
  dim: number,
): void {
  for (let b = 0; b < batch; b++) {
    const dst = b * seq * dim;
    for (let i = 0; i < dim; i++) dHidden[dst + i] += dOut[b * dim + i];
  }
}

/**
 * Named scratch arrays that grow to the largest shape seen and are then reused: a forward of
 * the same or a smaller shape allocates nothing. `get` returns a view of exactly `length`.
 */
export class BufferPool {
  private readonly arrays = new Map<string, Float32Array>();

  constructor(private readonly backend: Backend) {}

  /** Contents are whatever was last written; callers that accumulate must zero it. */
  get(name: string, length: number): Float32Array {
    let array = this.arrays.get(name);
    if (!array || array.length < length) {
      if (array) this.backend.free(array);
      array = this.backend.alloc(length);
      this.arrays.set(name, array);
    }
    return array.subarray(0, length);
  }

  /** Gives every buffer back to the backend. */
  dispose(): void {
    for (const array of this.arrays.values()) this.backend.free(array);
    this.arrays.clear();
  }

  zeroed(name: string, length: number): Float32Array {
    const view = this.get(name, length);
    view.fill(0);
    return view;
  }
}
