// LayerNorm over the last dimension. Forward tasks are bands of rows; backward tasks are bands
// of rows for dx, then bands of columns for dGamma/dBeta (those sum over every row), so no two
// threads write the same element.

import { nextTask } from "./tasks";

const ROW_BAND: i32 = 8;
const COLUMN_BAND: i32 = 64;

function horizontalSum(v: v128): f32 {
  return (
    f32x4.extract_lane(v, 0) +
    f32x4.extract_lane(v, 1) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3))
  );
}

function rowSum(p: usize, dim: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= dim; i += 4) acc = f32x4.add(acc, v128.load(p + ((<usize>i) << 2)));
  let sum = horizontalSum(acc);
  for (; i < dim; i++) sum += load<f32>(p + ((<usize>i) << 2));
  return sum;
}

function rowSquaredDeviation(p: usize, dim: i32, mu: f32): f32 {
  const m = f32x4.splat(mu);
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= dim; i += 4) {
    const d = f32x4.sub(v128.load(p + ((<usize>i) << 2)), m);
    acc = f32x4.add(acc, f32x4.mul(d, d));
  }
  let sum = horizontalSum(acc);
  for (; i < dim; i++) {
    const d = load<f32>(p + ((<usize>i) << 2)) - mu;
    sum += d * d;
  }
  return sum;
}

export function layerNormForward(
  x: usize,
  gamma: usize,
  beta: usize,
  out: usize,
  mean: usize,
  rstd: usize,
  rows: i32,
  dim: i32,
  eps: f32,
  _tid: i32,
): void {
  const bands = (rows + ROW_BAND - 1) / ROW_BAND;
  for (let task = nextTask(); task < bands; task = nextTask()) {
    const r1 = min<i32>(rows, (task + 1) * ROW_BAND);
    for (let r = task * ROW_BAND; r < r1; r++)
      normaliseRow(x, gamma, beta, out, mean, rstd, r, dim, eps);
  }
}

function normaliseRow(
  x: usize,
  gamma: usize,
  beta: usize,
  out: usize,
  mean: usize,
  rstd: usize,
  r: i32,
  dim: i32,
  eps: f32,
): void {
  const row = (<usize>(r * dim)) << 2;
  const px = x + row;
  const po = out + row;
  const mu = rowSum(px, dim) / <f32>dim;
  const s: f32 = <f32>(1 / Math.sqrt(<f64>(rowSquaredDeviation(px, dim, mu) / <f32>dim) + eps));
  store<f32>(mean + ((<usize>r) << 2), mu);
  store<f32>(rstd + ((<usize>r) << 2), s);
  const m = f32x4.splat(mu);
  const sv = f32x4.splat(s);
  let i = 0;
  for (; i + 4 <= dim; i += 4) {
    const at = (<usize>i) << 2;
    const xHat = f32x4.mul(f32x4.sub(v128.load(px + at), m), sv);
    const y = f32x4.add(f32x4.mul(xHat, v128.load(gamma + at)), v128.load(beta + at));
    v128.store(po + at, y);
  }
  for (; i < dim; i++) {
    const at = (<usize>i) << 2;
    const y = (load<f32>(px + at) - mu) * s * load<f32>(gamma + at) + load<f32>(beta + at);
    store<f32>(po + at, y);
  }
}

export function layerNormBackward(
  dOut: usize,
  x: usize,
  gamma: usize,
  mean: usize,
  rstd: usize,
  dx: usize,
  dGamma: usize,
  dBeta: usize,
  rows: i32,
  dim: i32,
  _tid: i32,
): void {
  const rowBands = (rows + ROW_BAND - 1) / ROW_BAND;
  const bands = rowBands + (dim + COLUMN_BAND - 1) / COLUMN_BAND;
  for (let task = nextTask(); task < bands; task = nextTask()) {
    if (task < rowBands) {
      const r1 = min<i32>(rows, (task + 1) * ROW_BAND);
      for (let r = task * ROW_BAND; r < r1; r++) {
        rowGradient(dOut, x, gamma, mean, rstd, dx, r, dim);
      }
    } else {
      const c0 = (task - rowBands) * COLUMN_BAND;
      parameterGradients(
        dOut,
        x,
        mean,
        rstd,
        dGamma,
        dBeta,
        rows,
        dim,
        c0,
        min<i32>(dim, c0 + COLUMN_BAND),
      );
    }
  }
}

function rowGradient(
  dOut: usize,
  x: usize,
  gamma: usize,
  mean: usize,
  rstd: usize,
  dx: usize,
  r: i32,
  dim: i32,
): void {
  const invDim: f32 = 1 / <f32>dim;
  const row = (<usize>(r * dim)) << 2;
  const mu = load<f32>(mean + ((<usize>r) << 2));
  const s = load<f32>(rstd + ((<usize>r) << 2));
  const m = f32x4.splat(mu);
  const sv = f32x4.splat(s);
  let accG = f32x4.splat(0);
  let accGX = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= dim; i += 4) {
    const at = (<usize>i) << 2;
    const xHat = f32x4.mul(f32x4.sub(v128.load(x + row + at), m), sv);
    const g = f32x4.mul(v128.load(dOut + row + at), v128.load(gamma + at));
    accG = f32x4.add(accG, g);
    accGX = f32x4.add(accGX, f32x4.mul(g, xHat));
  }
  let sumG = horizontalSum(accG);
  let sumGX = horizontalSum(accGX);
  for (let j = i; j < dim; j++) {
    const at = (<usize>j) << 2;
    const xHat = (load<f32>(x + row + at) - mu) * s;
    const g = load<f32>(dOut + row + at) * load<f32>(gamma + at);
    sumG += g;
    sumGX += g * xHat;
  }
  const meanG = f32x4.splat(sumG * invDim);
  const meanGX = f32x4.splat(sumGX * invDim);
  i = 0;
  for (; i + 4 <= dim; i += 4) {
    const at = (<usize>i) << 2;
    const xHat = f32x4.mul(f32x4.sub(v128.load(x + row + at), m), sv);
    const g = f32x4.mul(v128.load(dOut + row + at), v128.load(gamma + at));
    const d = f32x4.sub(f32x4.sub(g, meanG), f32x4.mul(xHat, meanGX));
    v128.store(dx + row + at, f32x4.mul(sv, d));
  }
  for (; i < dim; i++) {
    const at = (<usize>i) << 2;
    const xHat = (load<f32>(x + row + at) - mu) * s;
    const g = load<f32>(dOut + row + at) * load<f32>(gamma + at);
    store<f32>(dx + row + at, s * (g - sumG * invDim - xHat * sumGX * invDim));
  }
}

function parameterGradients(
  dOut: usize,
  x: usize,
  mean: usize,
  rstd: usize,
  dGamma: usize,
  dBeta: usize,
  rows: i32,
  dim: i32,
  c0: i32,
  c1: i32,
): void {
  for (let r = 0; r < rows; r++) {
    const row = (<usize>(r * dim)) << 2;
    const mu = load<f32>(mean + ((<usize>r) << 2));
    const s = load<f32>(rstd + ((<usize>r) << 2));
    const m = f32x4.splat(mu);
    const sv = f32x4.splat(s);
    let i = c0;
    for (; i + 4 <= c1; i += 4) {
      const at = (<usize>i) << 2;
      const xHat = f32x4.mul(f32x4.sub(v128.load(x + row + at), m), sv);
      const d = v128.load(dOut + row + at);
      v128.store(dGamma + at, f32x4.add(v128.load(dGamma + at), f32x4.mul(d, xHat)));
      v128.store(dBeta + at, f32x4.add(v128.load(dBeta + at), d));
    }
    for (; i < c1; i++) {
      const at = (<usize>i) << 2;
      const xHat = (load<f32>(x + row + at) - mu) * s;
      const d = load<f32>(dOut + row + at);
      store<f32>(dGamma + at, load<f32>(dGamma + at) + d * xHat);
      store<f32>(dBeta + at, load<f32>(dBeta + at) + d);
    }
  }
}
