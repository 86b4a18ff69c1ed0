// The sentence-embedding losses against a reference written here from the formulas in
// src/retrieval/losses.ts's header (plain loops, no shared helper), their gradients against
// central finite differences, Matryoshka's prefixes, and the pooling backward.

import assert from "node:assert/strict";
import { test } from "node:test";
import { pool, poolBackward } from "../src/models/pooling.js";
import {
  coSentLoss,
  type EmbeddingRows,
  matryoshkaLoss,
  multipleNegativesRankingLoss,
} from "../src/retrieval/losses.js";

function randomVectors(rows: number, size: number, seed: number): Float32Array {
  let x = seed;
  return Float32Array.from({ length: rows * size }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return (x / 2147483648) * 2 - 1;
  });
}

function cosine(v: Float32Array, size: number, dim: number, a: number, b: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let k = 0; k < dim; k++) {
    ab += v[a * size + k] * v[b * size + k];
    aa += v[a * size + k] ** 2;
    bb += v[b * size + k] ** 2;
  }
  return ab / (Math.sqrt(aa) * Math.sqrt(bb));
}

/** (1/B) sum_i -log softmax_j(scale cos(a_i, c_j))[i], anchors rows 0..B-1, candidates after. */
function referenceMnrl(v: Float32Array, size: number, dim: number, anchors: number): number {
  const rows = v.length / size;
  let total = 0;
  for (let i = 0; i < anchors; i++) {
    const logits: number[] = [];
    for (let j = anchors; j < rows; j++) logits.push(20 * cosine(v, size, dim, i, j));
    const logSum = Math.log(logits.reduce((sum, l) => sum + Math.exp(l), 0));
    total += logSum - logits[i];
  }
  return total / anchors;
}

/** log(1 + sum over g_i > g_j of exp(scale (cos_j - cos_i))), pairs (i, B + i). */
function referenceCoSent(v: Float32Array, size: number, gold: number[]): number {
  const count = gold.length;
  const cos = gold.map((_, i) => 20 * cosine(v, size, size, i, count + i));
  let sum = 1;
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < count; j++) if (gold[i] > gold[j]) sum += Math.exp(cos[j] - cos[i]);
  }
  return Math.log(sum);
}

/**
 * The largest gap between `grad` and central differences of `loss` over every component, relative
 * to the derivative where it is above 1 (a short vector's steep gradient).
 */
function finiteDifferenceGap(
  vectors: Float32Array,
  grad: Float32Array,
  loss: (v: Float32Array) => number,
): number {
  const eps = 1e-3;
  let worst = 0;
  for (let k = 0; k < vectors.length; k++) {
    const plus = Float32Array.from(vectors);
    const minus = Float32Array.from(vectors);
    plus[k] += eps;
    minus[k] -= eps;
    const numeric = (loss(plus) - loss(minus)) / (plus[k] - minus[k]);
    worst = Math.max(worst, Math.abs(numeric - grad[k]) / Math.max(1, Math.abs(numeric)));
  }
  return worst;
}

const size = 6;
const anchors = [0, 1, 2, 3];

test("MultipleNegativesRankingLoss equals the formula, with hard negatives, and its gradient the finite differences", () => {
  // 4 anchors, 4 positives, 3 hard negatives.
  const vectors = randomVectors(11, size, 3);
  const candidates = Array.from({ length: 7 }, (_, j) => 4 + j);
  const grad = new Float32Array(vectors.length);
  const loss = multipleNegativesRankingLoss(
    { vectors, size, dim: size },
    anchors,
    candidates,
    grad,
  );
  assert.ok(Math.abs(loss - referenceMnrl(vectors, size, size, 4)) < 1e-9, `${loss}`);
  const gap = finiteDifferenceGap(vectors, grad, (v) =>
    multipleNegativesRankingLoss(
      { vectors: v, size, dim: size },
      anchors,
      candidates,
      new Float32Array(v.length),
    ),
  );
  assert.ok(gap < 2e-3, `max |analytic - numeric| ${gap}`);
  assert.ok(
    grad.some((g) => Math.abs(g) > 1e-2),
    "the gradient is not zero",
  );
});

test("CoSENT equals the formula, and its gradient the finite differences", () => {
  const vectors = randomVectors(8, size, 5);
  const gold = [0.9, 0.1, 0.5, 0.5];
  const second = anchors.map((i) => 4 + i);
  const grad = new Float32Array(vectors.length);
  const loss = coSentLoss({ vectors, size, dim: size }, anchors, second, gold, grad);
  assert.ok(Math.abs(loss - referenceCoSent(vectors, size, gold)) < 1e-9, `${loss}`);
  const gap = finiteDifferenceGap(vectors, grad, (v) =>
    coSentLoss({ vectors: v, size, dim: size }, anchors, second, gold, new Float32Array(v.length)),
  );
  assert.ok(gap < 2e-3, `max |analytic - numeric| ${gap}`);
  // Equal gold scores everywhere order nothing: the loss is log 1.
  const flat = coSentLoss(
    { vectors, size, dim: size },
    anchors,
    second,
    [1, 1, 1, 1],
    new Float32Array(vectors.length),
  );
  assert.equal(flat, 0);
});

test("the Matryoshka loss sums the loss of each prefix, and a prefix's gradient stays in it", () => {
  const vectors = randomVectors(8, size, 9);
  const candidates = anchors.map((i) => 4 + i);
  const grad = new Float32Array(vectors.length);
  const one = (embeddings: EmbeddingRows, weight: number) =>
    multipleNegativesRankingLoss(embeddings, anchors, candidates, grad, weight);
  const { total, perDim } = matryoshkaLoss(vectors, size, [6, 3], [1, 0.5], one);
  const full = referenceMnrl(vectors, size, size, 4);
  const prefix = referenceMnrl(vectors, size, 3, 4);
  assert.ok(Math.abs(perDim[0] - full) < 1e-9 && Math.abs(perDim[1] - prefix) < 1e-9);
  assert.ok(Math.abs(total - (full + 0.5 * prefix)) < 1e-9);
  // The prefix-only loss touches components 0..2 alone.
  const prefixGrad = new Float32Array(vectors.length);
  multipleNegativesRankingLoss({ vectors, size, dim: 3 }, anchors, candidates, prefixGrad);
  for (let r = 0; r < 8; r++) {
    for (let k = 3; k < size; k++) assert.equal(prefixGrad[r * size + k], 0);
  }
  const gap = finiteDifferenceGap(vectors, grad, (v) => {
    const scratch = new Float32Array(v.length);
    return matryoshkaLoss(v, size, [6, 3], [1, 0.5], (e, w) =>
      multipleNegativesRankingLoss(e, anchors, candidates, scratch, w),
    ).total;
  });
  assert.ok(gap < 2e-3, `max |analytic - numeric| ${gap}`);
});

test("the pooling backward is the gradient of mean and CLS pooling", () => {
  const seq = 5;
  const hidden = randomVectors(seq, size, 11);
  const mask = [1, 1, 1, 0, 0];
  const weights = randomVectors(1, size, 13);
  for (const pooling of ["mean", "cls"] as const) {
    const loss = (h: Float32Array) =>
      pool(pooling, h, 0, mask, size).reduce((sum, value, i) => sum + value * weights[i], 0);
    const grad = new Float32Array(hidden.length);
    poolBackward(pooling, weights, grad, 0, mask, size);
    assert.ok(finiteDifferenceGap(hidden, grad, loss) < 1e-3, pooling);
    // Padding gets no gradient.
    for (let k = 3 * size; k < hidden.length; k++) assert.equal(grad[k], 0);
  }
});
