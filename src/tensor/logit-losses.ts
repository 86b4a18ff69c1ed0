// Backend.logitLosses in plain TypeScript, in float64: the reference backend's implementation,
// against which the native and WebAssembly kernels are tested.

import type { LogitLossScales } from "./backend.js";

/**
 * Writes exp(x[offset..offset+n] * scale - max) into out (the softmax before normalising) and
 * returns their sum and max.
 */
function unnormalisedSoftmax(
  x: Float32Array,
  offset: number,
  n: number,
  scale: number,
  out: Float64Array,
): { sum: number; max: number } {
  let max = Number.NEGATIVE_INFINITY;
  for (let v = 0; v < n; v++) {
    const value = x[offset + v] * scale;
    if (value > max) max = value;
  }
  let sum = 0;
  for (let v = 0; v < n; v++) {
    const e = Math.exp(x[offset + v] * scale - max);
    out[v] = e;
    sum += e;
  }
  return { sum, max };
}

export function logitLossesReference(
  student: Float32Array,
  teacher: Float32Array,
  soft: Uint8Array,
  labels: Int32Array,
  dStudent: Float32Array,
  rowLosses: Float32Array,
  rows: number,
  vocab: number,
  { temperature: T, ceScale, mlmScale, mseScale }: LogitLossScales,
): void {
  const ps = new Float64Array(vocab);
  const pt = new Float64Array(vocab);
  const grad = new Float64Array(vocab);
  for (let r = 0; r < rows; r++) {
    const offset = r * vocab;
    grad.fill(0);
    let ce = 0;
    let mlm = 0;
    let mse = 0;
    // With p = softmax(x/T) and lse = logsumexp(x/T):
    // KL(pt || ps) = sum pt (t - s) / T + lse_s - lse_t, and d/ds of T^2 KL = T (ps - pt).
    if (soft[r] && ceScale !== 0) {
      const s = unnormalisedSoftmax(student, offset, vocab, 1 / T, ps);
      const t = unnormalisedSoftmax(teacher, offset, vocab, 1 / T, pt);
      let cross = 0;
      for (let v = 0; v < vocab; v++) {
        const p = pt[v] / t.sum;
        cross += p * (teacher[offset + v] - student[offset + v]);
        grad[v] += ceScale * (ps[v] / s.sum - p);
      }
      ce = cross / T + s.max + Math.log(s.sum) - t.max - Math.log(t.sum);
    }
    if (soft[r] && mseScale !== 0) {
      for (let v = 0; v < vocab; v++) {
        const diff = student[offset + v] - teacher[offset + v];
        mse += diff * diff;
        grad[v] += mseScale * diff;
      }
    }
    const label = labels[r];
    if (label !== -100) {
      const s = unnormalisedSoftmax(student, offset, vocab, 1, ps);
      mlm = s.max + Math.log(s.sum) - student[offset + label];
      for (let v = 0; v < vocab; v++) grad[v] += (mlmScale * ps[v]) / s.sum;
      grad[label] -= mlmScale;
    }
    for (let v = 0; v < vocab; v++) dStudent[offset + v] = grad[v];
    rowLosses[3 * r] = ce;
    rowLosses[3 * r + 1] = mlm;
    rowLosses[3 * r + 2] = mse;
  }
}
