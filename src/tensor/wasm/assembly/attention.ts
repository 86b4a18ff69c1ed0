// Self-attention over heads, one (batch, head, query) row at a time with f32x4 over the head
// dimension. Forward splits query rows between threads; backward splits (batch, head) pairs, since
// dk and dv of a pair sum over all its queries.

import { expv } from "./simdmath";

const MASKED_SCORE: f32 = -3.4028234663852886e38;

function dot(a: usize, b: usize, len: i32): f32 {
  let acc = f32x4.splat(0);
  let d = 0;
  for (; d + 4 <= len; d += 4) {
    const at = (<usize>d) << 2;
    acc = f32x4.add(acc, f32x4.mul(v128.load(a + at), v128.load(b + at)));
  }
  let sum =
    f32x4.extract_lane(acc, 0) +
    f32x4.extract_lane(acc, 1) +
    (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; d < len; d++) {
    const at = (<usize>d) << 2;
    sum += load<f32>(a + at) * load<f32>(b + at);
  }
  return sum;
}

// y[0..len) += alpha * x[0..len)
function axpy(alpha: f32, x: usize, y: usize, len: i32): void {
  const av = f32x4.splat(alpha);
  let d = 0;
  for (; d + 4 <= len; d += 4) {
    const at = (<usize>d) << 2;
    v128.store(y + at, f32x4.add(v128.load(y + at), f32x4.mul(av, v128.load(x + at))));
  }
  for (; d < len; d++) {
    const at = (<usize>d) << 2;
    store<f32>(y + at, load<f32>(y + at) + alpha * load<f32>(x + at));
  }
}

function softmaxInPlace(p: usize, len: i32): void {
  let max = MASKED_SCORE;
  for (let j = 0; j < len; j++) max = Mathf.max(max, load<f32>(p + ((<usize>j) << 2)));
  const mv = f32x4.splat(max);
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const at = p + ((<usize>j) << 2);
    const e = expv(f32x4.sub(v128.load(at), mv));
    v128.store(at, e);
    acc = f32x4.add(acc, e);
  }
  for (; j < len; j++) {
    const at = p + ((<usize>j) << 2);
    const e = f32x4.extract_lane(expv(f32x4.splat(load<f32>(at) - max)), 0);
    store<f32>(at, e);
    acc = f32x4.add(acc, f32x4(e, 0, 0, 0));
  }
  const total =
    <f64>f32x4.extract_lane(acc, 0) +
    <f64>f32x4.extract_lane(acc, 1) +
    <f64>f32x4.extract_lane(acc, 2) +
    <f64>f32x4.extract_lane(acc, 3);
  const inv = f32x4.splat(<f32>(1 / total));
  j = 0;
  for (; j + 4 <= len; j += 4) {
    const at = p + ((<usize>j) << 2);
    v128.store(at, f32x4.mul(v128.load(at), inv));
  }
  for (; j < len; j++) {
    const at = p + ((<usize>j) << 2);
    store<f32>(at, load<f32>(at) * <f32>(1 / total));
  }
}

export function attentionForward(
  q: usize,
  k: usize,
  v: usize,
  keyMask: usize,
  probs: usize,
  out: usize,
  batch: i32,
  seq: i32,
  heads: i32,
  headDim: i32,
  dropoutMask: usize,
  tid: i32,
  threads: i32,
): void {
  const hidden = heads * headDim;
  const scale: f32 = <f32>(1 / Math.sqrt(<f64>headDim));
  const total = batch * heads * seq;
  const per = (total + threads - 1) / threads;
  const end = min<i32>(total, (tid + 1) * per);
  for (let row = tid * per; row < end; row++) {
    const i = row % seq;
    const h = (row / seq) % heads;
    const b = row / (seq * heads);
    const qRow = q + ((<usize>((b * seq + i) * hidden + h * headDim)) << 2);
    const pRow = probs + ((<usize>(row * seq)) << 2);
    const maskRow = keyMask + ((<usize>(b * seq)) << 2);
    for (let j = 0; j < seq; j++) {
      let s = MASKED_SCORE;
      if (load<f32>(maskRow + ((<usize>j) << 2)) !== 0) {
        const kRow = k + ((<usize>((b * seq + j) * hidden + h * headDim)) << 2);
        s = dot(qRow, kRow, headDim) * scale;
      }
      store<f32>(pRow + ((<usize>j) << 2), s);
    }
    softmaxInPlace(pRow, seq);
    const oRow = out + ((<usize>((b * seq + i) * hidden + h * headDim)) << 2);
    memory.fill(oRow, 0, (<usize>headDim) << 2);
    for (let j = 0; j < seq; j++) {
      let p = load<f32>(pRow + ((<usize>j) << 2));
      if (dropoutMask !== 0) p *= load<f32>(dropoutMask + ((<usize>(row * seq + j)) << 2));
      const vRow = v + ((<usize>((b * seq + j) * hidden + h * headDim)) << 2);
      axpy(p, vRow, oRow, headDim);
    }
  }
}

/** dProbs: a scratch row of seq floats per thread, at workspace + tid * workspaceStride. */
export function attentionBackward(
  dOut: usize,
  q: usize,
  k: usize,
  v: usize,
  probs: usize,
  dq: usize,
  dk: usize,
  dv: usize,
  batch: i32,
  seq: i32,
  heads: i32,
  headDim: i32,
  dropoutMask: usize,
  workspace: usize,
  workspaceStride: usize,
  tid: i32,
  threads: i32,
): void {
  const hidden = heads * headDim;
  const scale: f32 = <f32>(1 / Math.sqrt(<f64>headDim));
  const dProbs = workspace + workspaceStride * tid;
  const pairs = batch * heads;
  const per = (pairs + threads - 1) / threads;
  const end = min<i32>(pairs, (tid + 1) * per);
  const headBytes = (<usize>headDim) << 2;
  for (let pair = tid * per; pair < end; pair++) {
    const b = pair / heads;
    const h = pair % heads;
    for (let i = 0; i < seq; i++) {
      const at = (<usize>((b * seq + i) * hidden + h * headDim)) << 2;
      memory.fill(dq + at, 0, headBytes);
      memory.fill(dk + at, 0, headBytes);
      memory.fill(dv + at, 0, headBytes);
    }
    for (let i = 0; i < seq; i++) {
      const rowAt = (<usize>((b * seq + i) * hidden + h * headDim)) << 2;
      const pRow = probs + ((<usize>((pair * seq + i) * seq)) << 2);
      const dropRow = dropoutMask + ((<usize>((pair * seq + i) * seq)) << 2);
      let rowDot: f32 = 0;
      for (let j = 0; j < seq; j++) {
        const colAt = (<usize>((b * seq + j) * hidden + h * headDim)) << 2;
        const drop: f32 = dropoutMask !== 0 ? load<f32>(dropRow + ((<usize>j) << 2)) : 1;
        const p = load<f32>(pRow + ((<usize>j) << 2));
        axpy(p * drop, dOut + rowAt, dv + colAt, headDim);
        const g = dot(dOut + rowAt, v + colAt, headDim) * drop;
        store<f32>(dProbs + ((<usize>j) << 2), g);
        rowDot += g * p;
      }
      for (let j = 0; j < seq; j++) {
        const p = load<f32>(pRow + ((<usize>j) << 2));
        const dScore = p * (load<f32>(dProbs + ((<usize>j) << 2)) - rowDot) * scale;
        if (dScore === 0) continue;
        const colAt = (<usize>((b * seq + j) * hidden + h * headDim)) << 2;
        axpy(dScore, k + colAt, dq + rowAt, headDim);
        axpy(dScore, q + rowAt, dk + colAt, headDim);
      }
    }
  }
}
