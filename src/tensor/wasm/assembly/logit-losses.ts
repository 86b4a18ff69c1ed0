// Distillation's logit terms row by row (Backend.logitLosses; the float64 reference is
// src/tensor/logit-losses.ts): the softmaxes over the vocabulary with f32x4 and the vector exp,
// their sums in float64 by blocks (a float32 sum over a 30k vocabulary would carry ~1e-5 relative
// error). Tasks are rows; each thread keeps the teacher's exponentials in its own workspace.

import { expf, expv, ln } from "./simdmath";
import { nextTask } from "./tasks";

// Float32 partial sums over at most this many elements, then added in float64.
const BLOCK: i32 = 256;

function horizontalMax(v: v128): f32 {
  return max<f32>(
    max<f32>(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
    max<f32>(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)),
  );
}

function horizontalSum(v: v128): f64 {
  return (
    <f64>f32x4.extract_lane(v, 0) +
    <f64>f32x4.extract_lane(v, 1) +
    <f64>f32x4.extract_lane(v, 2) +
    <f64>f32x4.extract_lane(v, 3)
  );
}

/** max over v of x[v] * scale. */
function scaledMax(x: usize, n: i32, scale: f32): f32 {
  const s = f32x4.splat(scale);
  let m = f32x4.splat(-Infinity);
  let v = 0;
  for (; v + 4 <= n; v += 4) m = f32x4.pmax(m, f32x4.mul(v128.load(x + ((<usize>v) << 2)), s));
  let result = horizontalMax(m);
  for (; v < n; v++) result = max<f32>(result, load<f32>(x + ((<usize>v) << 2)) * scale);
  return result;
}

/** out[v] = exp(x[v] * scale - shift); returns the sum. */
function expAndSum(x: usize, out: usize, n: i32, scale: f32, shift: f32): f64 {
  const s = f32x4.splat(scale);
  const m = f32x4.splat(shift);
  let total: f64 = 0;
  let v = 0;
  while (v + 4 <= n) {
    const end = min<i32>(n & ~3, v + BLOCK);
    let block = f32x4.splat(0);
    for (; v < end; v += 4) {
      const at = (<usize>v) << 2;
      const e = expv(f32x4.sub(f32x4.mul(v128.load(x + at), s), m));
      v128.store(out + at, e);
      block = f32x4.add(block, e);
    }
    total += horizontalSum(block);
  }
  for (; v < n; v++) {
    const at = (<usize>v) << 2;
    const e = expf(load<f32>(x + at) * scale - shift);
    store<f32>(out + at, e);
    total += e;
  }
  return total;
}

/** The soft-target term: d = ceScale (ps - pt); returns KL(pt || ps) at temperature T. */
function softTargets(s: usize, t: usize, d: usize, work: usize, n: i32, T: f32, ceScale: f32): f64 {
  const invT: f32 = 1 / T;
  const maxS = scaledMax(s, n, invT);
  const maxT = scaledMax(t, n, invT);
  const sumS = expAndSum(s, d, n, invT, maxS);
  const sumT = expAndSum(t, work, n, invT, maxT);
  const toPs = <f32>(1 / sumS);
  const toPt = <f32>(1 / sumT);
  const vPs = f32x4.splat(toPs);
  const vPt = f32x4.splat(toPt);
  const vScale = f32x4.splat(ceScale);
  // KL(pt || ps) = sum pt (t - s) / T + lse(s/T) - lse(t/T).
  let cross: f64 = 0;
  let v = 0;
  while (v + 4 <= n) {
    const end = min<i32>(n & ~3, v + BLOCK);
    let block = f32x4.splat(0);
    for (; v < end; v += 4) {
      const at = (<usize>v) << 2;
      const pt = f32x4.mul(v128.load(work + at), vPt);
      const diff = f32x4.sub(v128.load(t + at), v128.load(s + at));
      block = f32x4.add(block, f32x4.mul(pt, diff));
      v128.store(d + at, f32x4.mul(vScale, f32x4.sub(f32x4.mul(v128.load(d + at), vPs), pt)));
    }
    cross += horizontalSum(block);
  }
  for (; v < n; v++) {
    const at = (<usize>v) << 2;
    const pt = load<f32>(work + at) * toPt;
    cross += pt * (load<f32>(t + at) - load<f32>(s + at));
    store<f32>(d + at, ceScale * (load<f32>(d + at) * toPs - pt));
  }
  return cross / T + maxS + ln(sumS) - maxT - ln(sumT);
}

/** d += mseScale (s - t); returns sum (s - t)^2. */
function squaredError(s: usize, t: usize, d: usize, n: i32, mseScale: f32): f64 {
  const vScale = f32x4.splat(mseScale);
  let total: f64 = 0;
  let v = 0;
  while (v + 4 <= n) {
    const end = min<i32>(n & ~3, v + BLOCK);
    let block = f32x4.splat(0);
    for (; v < end; v += 4) {
      const at = (<usize>v) << 2;
      const diff = f32x4.sub(v128.load(s + at), v128.load(t + at));
      block = f32x4.add(block, f32x4.mul(diff, diff));
      v128.store(d + at, f32x4.add(v128.load(d + at), f32x4.mul(vScale, diff)));
    }
    total += horizontalSum(block);
  }
  for (; v < n; v++) {
    const at = (<usize>v) << 2;
    const diff = load<f32>(s + at) - load<f32>(t + at);
    total += diff * diff;
    store<f32>(d + at, load<f32>(d + at) + mseScale * diff);
  }
  return total;
}

/** d += mlmScale (softmax(s) - onehot(label)); returns the cross-entropy at the label. */
function hardLabel(s: usize, d: usize, work: usize, n: i32, label: i32, mlmScale: f32): f64 {
  const top = scaledMax(s, n, 1);
  const sum = expAndSum(s, work, n, 1, top);
  const toP = <f32>(mlmScale / sum);
  const vP = f32x4.splat(toP);
  let v = 0;
  for (; v + 4 <= n; v += 4) {
    const at = (<usize>v) << 2;
    v128.store(d + at, f32x4.add(v128.load(d + at), f32x4.mul(vP, v128.load(work + at))));
  }
  for (; v < n; v++) {
    const at = (<usize>v) << 2;
    store<f32>(d + at, load<f32>(d + at) + toP * load<f32>(work + at));
  }
  const labelAt = (<usize>label) << 2;
  store<f32>(d + labelAt, load<f32>(d + labelAt) - mlmScale);
  return <f64>top + ln(sum) - <f64>load<f32>(s + labelAt);
}

export function logitLosses(
  student: usize,
  teacher: usize,
  soft: usize,
  labels: usize,
  dStudent: usize,
  rowLosses: usize,
  rows: i32,
  vocab: i32,
  temperature: f32,
  ceScale: f32,
  mlmScale: f32,
  mseScale: f32,
  workspace: usize,
  workspaceStride: usize,
  tid: i32,
): void {
  const work = workspace + workspaceStride * tid;
  const rowBytes = (<usize>vocab) << 2;
  for (let r = nextTask(); r < rows; r = nextTask()) {
    const s = student + rowBytes * r;
    const t = teacher + rowBytes * r;
    const d = dStudent + rowBytes * r;
    memory.fill(d, 0, rowBytes);
    const isSoft = load<u8>(soft + r) !== 0;
    const label = load<i32>(labels + ((<usize>r) << 2));
    let ce: f64 = 0;
    let mlm: f64 = 0;
    let mse: f64 = 0;
    if (isSoft && ceScale !== 0) ce = softTargets(s, t, d, work, vocab, temperature, ceScale);
    if (isSoft && mseScale !== 0) mse = squaredError(s, t, d, vocab, mseScale);
    if (label !== -100) mlm = hardLabel(s, d, work, vocab, label, mlmScale);
    const out = rowLosses + 12 * <usize>r;
    store<f32>(out, <f32>ce);
    store<f32>(out, <f32>mlm, 4);
    store<f32>(out, <f32>mse, 8);
  }
}
