// Kernels that walk arrays element by element: activations, column sums, sum of squares, AdamW.
// Tasks are chunks of CHUNK elements (a multiple of four, so chunks never share a vector).

import { activation, activationDerivative } from "./simdmath";
import { nextTask } from "./tasks";

const CHUNK: i32 = 8192;
const COLUMN_BAND: i32 = 64;

function chunks(n: i32, size: i32): i32 {
  return (n + size - 1) / size;
}

// Runs f on the lanes of a partial vector at the end of an array without touching memory past it.
function loadPartial(p: usize, count: i32): v128 {
  let v = f32x4.splat(0);
  if (count > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

function storePartial(p: usize, v: v128, count: i32): void {
  if (count > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (count > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

export function activationForward(kind: i32, x: usize, out: usize, n: i32, _tid: i32): void {
  for (let task = nextTask(); task < chunks(n, CHUNK); task = nextTask()) {
    const end = min<i32>(n, (task + 1) * CHUNK);
    let i = task * CHUNK;
    for (; i + 4 <= end; i += 4) {
      const at = (<usize>i) << 2;
      v128.store(out + at, activation(kind, v128.load(x + at)));
    }
    if (i < end) {
      const at = (<usize>i) << 2;
      storePartial(out + at, activation(kind, loadPartial(x + at, end - i)), end - i);
    }
  }
}

export function activationBackward(
  kind: i32,
  x: usize,
  dOut: usize,
  dx: usize,
  n: i32,
  _tid: i32,
): void {
  for (let task = nextTask(); task < chunks(n, CHUNK); task = nextTask()) {
    const end = min<i32>(n, (task + 1) * CHUNK);
    let i = task * CHUNK;
    for (; i + 4 <= end; i += 4) {
      const at = (<usize>i) << 2;
      const d = activationDerivative(kind, v128.load(x + at));
      v128.store(dx + at, f32x4.mul(d, v128.load(dOut + at)));
    }
    if (i < end) {
      const at = (<usize>i) << 2;
      const count = end - i;
      const d = activationDerivative(kind, loadPartial(x + at, count));
      storePartial(dx + at, f32x4.mul(d, loadPartial(dOut + at, count)), count);
    }
  }
}

export function sumRows(
  x: usize,
  out: usize,
  rows: i32,
  cols: i32,
  accumulate: bool,
  _tid: i32,
): void {
  for (let task = nextTask(); task < chunks(cols, COLUMN_BAND); task = nextTask()) {
    const c0 = task * COLUMN_BAND;
    sumColumns(x, out, rows, cols, accumulate, c0, min<i32>(cols, c0 + COLUMN_BAND));
  }
}

function sumColumns(
  x: usize,
  out: usize,
  rows: i32,
  cols: i32,
  accumulate: bool,
  c0: i32,
  c1: i32,
): void {
  if (!accumulate) memory.fill(out + ((<usize>c0) << 2), 0, (<usize>(c1 - c0)) << 2);
  const rowBytes = (<usize>cols) << 2;
  let j = c0;
  for (; j + 4 <= c1; j += 4) {
    let sum = f32x4.splat(0);
    let p = x + ((<usize>j) << 2);
    for (let r = 0; r < rows; r++) {
      sum = f32x4.add(sum, v128.load(p));
      p += rowBytes;
    }
    const at = out + ((<usize>j) << 2);
    v128.store(at, f32x4.add(v128.load(at), sum));
  }
  for (; j < c1; j++) {
    let sum: f32 = 0;
    let p = x + ((<usize>j) << 2);
    for (let r = 0; r < rows; r++) {
      sum += load<f32>(p);
      p += rowBytes;
    }
    const at = out + ((<usize>j) << 2);
    store<f32>(at, load<f32>(at) + sum);
  }
}

/** Writes this thread's partial sum (float64) to results[tid]. */
export function sumOfSquares(x: usize, n: i32, results: usize, tid: i32): void {
  let sum = f64x2.splat(0);
  let total: f64 = 0;
  for (let task = nextTask(); task < chunks(n, CHUNK); task = nextTask()) {
    const end = min<i32>(n, (task + 1) * CHUNK);
    let i = task * CHUNK;
    for (; i + 2 <= end; i += 2) {
      const v = f64x2.promote_low_f32x4(v128.load64_zero(x + ((<usize>i) << 2)));
      sum = f64x2.add(sum, f64x2.mul(v, v));
    }
    if (i < end) {
      const v = <f64>load<f32>(x + ((<usize>i) << 2));
      total += v * v;
    }
  }
  total += f64x2.extract_lane(sum, 0) + f64x2.extract_lane(sum, 1);
  store<f64>(results + ((<usize>tid) << 3), total);
}

export function adamw(
  param: usize,
  grad: usize,
  m: usize,
  v: usize,
  n: i32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  stepSize: f32,
  decay: f32,
  correction2Sqrt: f32,
  _tid: i32,
): void {
  for (let task = nextTask(); task < chunks(n, CHUNK); task = nextTask()) {
    const start = task * CHUNK;
    const end = min<i32>(n, start + CHUNK);
    adamwRange(param, grad, m, v, start, end, beta1, beta2, eps, stepSize, decay, correction2Sqrt);
  }
}

function adamwRange(
  param: usize,
  grad: usize,
  m: usize,
  v: usize,
  start: i32,
  end: i32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  stepSize: f32,
  decay: f32,
  correction2Sqrt: f32,
): void {
  const b1 = f32x4.splat(beta1);
  const b2 = f32x4.splat(beta2);
  const c1 = f32x4.splat(1 - beta1);
  const c2 = f32x4.splat(1 - beta2);
  const e = f32x4.splat(eps);
  const s = f32x4.splat(stepSize);
  const d = f32x4.splat(decay);
  const invC2 = f32x4.splat(1 / correction2Sqrt);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const at = (<usize>i) << 2;
    const g = v128.load(grad + at);
    const mi = f32x4.add(f32x4.mul(b1, v128.load(m + at)), f32x4.mul(c1, g));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(v + at)), f32x4.mul(f32x4.mul(c2, g), g));
    v128.store(m + at, mi);
    v128.store(v + at, vi);
    const denom = f32x4.add(f32x4.mul(f32x4.sqrt(vi), invC2), e);
    const p = f32x4.mul(v128.load(param + at), d);
    v128.store(param + at, f32x4.sub(p, f32x4.div(f32x4.mul(s, mi), denom)));
  }
  for (; i < end; i++) {
    const at = (<usize>i) << 2;
    const g = load<f32>(grad + at);
    const mi = beta1 * load<f32>(m + at) + (1 - beta1) * g;
    const vi = beta2 * load<f32>(v + at) + (1 - beta2) * g * g;
    store<f32>(m + at, mi);
    store<f32>(v + at, vi);
    const denom = Mathf.sqrt(vi) / correction2Sqrt + eps;
    store<f32>(param + at, load<f32>(param + at) * decay - (stepSize * mi) / denom);
  }
}
