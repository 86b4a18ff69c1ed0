// Self-attention, one (batch, head) pair per task: the products run on the packed matmul with
// leading dimensions (a head is a column slice of the [tokens, hidden] matrices), the softmax and
// its gradient row by row with f32x4. Per thread, the workspace holds the matmul's packing space
// and then two seq x seq scratch matrices.

import { gemmBlock, matmulWorkspaceBytes } from "./matmul";
import { expv } from "./simdmath";
import { nextTask } from "./tasks";

const MASKED_SCORE: f32 = -3.4028234663852886e38;

function at(base: usize, index: i32): usize {
  return base + ((<usize>index) << 2);
}

// Scales a row of raw scores, masks it, and turns it into probabilities in place.
// The first pass runs four at a time with pmax (max compiles to a NaN-safe sequence on x64).
function softmaxRow(p: usize, mask: usize, len: i32, scale: f32): void {
  const masked = f32x4.splat(MASKED_SCORE);
  const scale4 = f32x4.splat(scale);
  const none = f32x4.splat(0);
  let max4 = masked;
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const kept = f32x4.ne(v128.load(at(mask, j)), none);
    const s = v128.bitselect(f32x4.mul(v128.load(at(p, j)), scale4), masked, kept);
    v128.store(at(p, j), s);
    max4 = f32x4.pmax(max4, s);
  }
  let max = Mathf.max(
    Mathf.max(f32x4.extract_lane(max4, 0), f32x4.extract_lane(max4, 1)),
    Mathf.max(f32x4.extract_lane(max4, 2), f32x4.extract_lane(max4, 3)),
  );
  for (; j < len; j++) {
    const s = load<f32>(at(mask, j)) !== 0 ? load<f32>(at(p, j)) * scale : MASKED_SCORE;
    store<f32>(at(p, j), s);
    max = Mathf.max(max, s);
  }
  const mv = f32x4.splat(max);
  let acc = f32x4.splat(0);
  j = 0;
  for (; j + 4 <= len; j += 4) {
    const e = expv(f32x4.sub(v128.load(at(p, j)), mv));
    v128.store(at(p, j), e);
    acc = f32x4.add(acc, e);
  }
  let total: f64 =
    <f64>f32x4.extract_lane(acc, 0) +
    <f64>f32x4.extract_lane(acc, 1) +
    <f64>f32x4.extract_lane(acc, 2) +
    <f64>f32x4.extract_lane(acc, 3);
  for (; j < len; j++) {
    const e = f32x4.extract_lane(expv(f32x4.splat(load<f32>(at(p, j)) - max)), 0);
    store<f32>(at(p, j), e);
    total += e;
  }
  const inv = <f32>(1 / total);
  const iv = f32x4.splat(inv);
  j = 0;
  for (; j + 4 <= len; j += 4) v128.store(at(p, j), f32x4.mul(v128.load(at(p, j)), iv));
  for (; j < len; j++) store<f32>(at(p, j), load<f32>(at(p, j)) * inv);
}

// dst = x * y elementwise over n floats.
function multiply(x: usize, y: usize, dst: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(at(dst, i), f32x4.mul(v128.load(at(x, i)), v128.load(at(y, i))));
  }
  for (; i < n; i++) store<f32>(at(dst, i), load<f32>(at(x, i)) * load<f32>(at(y, i)));
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
  workspace: usize,
  workspaceStride: usize,
  tid: i32,
): void {
  const hidden = heads * headDim;
  const scale: f32 = <f32>(1 / Math.sqrt(<f64>headDim));
  const ws = workspace + workspaceStride * tid;
  const dropped = ws + <usize>matmulWorkspaceBytes();
  const square = seq * seq;
  for (let pair = nextTask(); pair < batch * heads; pair = nextTask()) {
    const b = pair / heads;
    const h = pair % heads;
    const offset = b * seq * hidden + h * headDim;
    const p = at(probs, pair * square);
    gemmBlock(
      at(q, offset),
      at(k, offset),
      p,
      headDim,
      hidden,
      hidden,
      seq,
      false,
      true,
      false,
      0,
      ws,
      0,
      seq,
      0,
      seq,
    );
    for (let i = 0; i < seq; i++) softmaxRow(at(p, i * seq), at(keyMask, b * seq), seq, scale);
    let weights = p;
    if (dropoutMask !== 0) {
      multiply(p, at(dropoutMask, pair * square), dropped, square);
      weights = dropped;
    }
    gemmBlock(
      weights,
      at(v, offset),
      at(out, offset),
      seq,
      seq,
      hidden,
      hidden,
      false,
      false,
      false,
      0,
      ws,
      0,
      seq,
      0,
      headDim,
    );
  }
}

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
): void {
  const hidden = heads * headDim;
  const scale: f32 = <f32>(1 / Math.sqrt(<f64>headDim));
  const ws = workspace + workspaceStride * tid;
  const square = seq * seq;
  const dropped = ws + <usize>matmulWorkspaceBytes();
  const dScores = at(dropped, square);
  for (let pair = nextTask(); pair < batch * heads; pair = nextTask()) {
    const b = pair / heads;
    const h = pair % heads;
    const offset = b * seq * hidden + h * headDim;
    const p = at(probs, pair * square);
    const drop = dropoutMask !== 0 ? at(dropoutMask, pair * square) : 0;
    let weights = p;
    if (drop !== 0) {
      multiply(p, drop, dropped, square);
      weights = dropped;
    }
    // dV = P'^T dOut and dP = dOut V^T, P' the dropped probabilities.
    gemmBlock(
      weights,
      at(dOut, offset),
      at(dv, offset),
      seq,
      seq,
      hidden,
      hidden,
      true,
      false,
      false,
      0,
      ws,
      0,
      seq,
      0,
      headDim,
    );
    gemmBlock(
      at(dOut, offset),
      at(v, offset),
      dScores,
      headDim,
      hidden,
      hidden,
      seq,
      false,
      true,
      false,
      0,
      ws,
      0,
      seq,
      0,
      seq,
    );
    // dScore = P * (dP' - sum(dP' * P)) * scale, dP' = dP * dropout.
    for (let i = 0; i < seq; i++) {
      const row = i * seq;
      if (drop !== 0) multiply(at(dScores, row), at(drop, row), at(dScores, row), seq);
      let dot: f32 = 0;
      for (let j = 0; j < seq; j++)
        dot += load<f32>(at(dScores, row + j)) * load<f32>(at(p, row + j));
      for (let j = 0; j < seq; j++) {
        const g = load<f32>(at(dScores, row + j));
        store<f32>(at(dScores, row + j), load<f32>(at(p, row + j)) * (g - dot) * scale);
      }
    }
    // dQ = dScore K, dK = dScore^T Q.
    gemmBlock(
      dScores,
      at(k, offset),
      at(dq, offset),
      seq,
      seq,
      hidden,
      hidden,
      false,
      false,
      false,
      0,
      ws,
      0,
      seq,
      0,
      headDim,
    );
    gemmBlock(
      dScores,
      at(q, offset),
      at(dk, offset),
      seq,
      seq,
      hidden,
      hidden,
      true,
      false,
      false,
      0,
      ws,
      0,
      seq,
      0,
      headDim,
    );
  }
}
