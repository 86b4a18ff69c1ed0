// DistilBERT's training loss, as its training code computes it, with the gradients flowing into
// the student's logits and last hidden state:
//   L = a_ce L_ce + a_mlm L_mlm + a_cos L_cos (+ a_mse L_mse)
// L_ce: KL(softmax(t/T) || softmax(s/T)) * T^2, summed over the selected positions and divided by
//   their number (KLDivLoss "batchmean" over the selected rows);
// L_mlm: cross-entropy of the student's logits at labels != -100;
// L_cos: mean over unpadded positions of 1 - cos(student hidden, teacher hidden)
//   (CosineEmbeddingLoss with target 1);
// L_mse: squared difference of the logits summed over the selected positions, divided by their
//   number.

export interface DistillLossWeights {
  temperature: number;
  alphaCe: number;
  alphaMlm: number;
  alphaCos: number;
  alphaMse: number;
  /** Soft-target loss at masked positions only instead of every unpadded position. */
  ceMaskedOnly: boolean;
}

export const DEFAULT_LOSS_WEIGHTS: DistillLossWeights = {
  temperature: 2,
  alphaCe: 5,
  alphaMlm: 2,
  alphaCos: 1,
  alphaMse: 0,
  ceMaskedOnly: false,
};

/** One batch of rows (= batch x seq positions). */
export interface DistillLossInputs {
  /** [logit rows, vocab]: at every row, or at the rows `logitRows` lists. */
  studentLogits: Float32Array;
  teacherLogits: Float32Array;
  /**
   * The rows the logits are given at (ascending); they must include every row a logit loss looks
   * at. Default: all rows.
   */
  logitRows?: Int32Array;
  /** [rows, dim] */
  studentHidden: Float32Array;
  teacherHidden: Float32Array;
  /** [rows]: 1 real token, 0 padding. */
  attentionMask: Float32Array;
  /** [rows]: the original token where the MLM loss applies, -100 elsewhere. */
  labels: Int32Array;
  rows: number;
  vocab: number;
  dim: number;
}

export interface DistillLoss {
  total: number;
  ce: number;
  mlm: number;
  cos: number;
  mse: number;
  /** dL/d(student logits), shaped as the logits; zero on rows no loss looks at. */
  dStudentLogits: Float32Array;
  /** dL/d(student last hidden state), [rows, dim]. */
  dStudentHidden: Float32Array;
}

/**
 * Writes exp(x[offset..offset+n] * scale - max) into out (the softmax before normalising) and
 * returns their sum and max: one exp per element, the hot loop of the whole loss.
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

export function distillLoss(inputs: DistillLossInputs, weights: DistillLossWeights): DistillLoss {
  const { rows, vocab, dim, attentionMask, labels } = inputs;
  const { studentLogits, teacherLogits, studentHidden, teacherHidden } = inputs;
  const T = weights.temperature;
  const logitRows = inputs.logitRows ?? Int32Array.from({ length: rows }, (_, r) => r);
  const dStudentLogits = new Float32Array(logitRows.length * vocab);
  const dStudentHidden = new Float32Array(rows * dim);

  // Offsets into the logits of the rows each loss looks at.
  const softRows: number[] = [];
  const maskedRows: number[] = [];
  logitRows.forEach((r, i) => {
    if (labels[r] !== -100) maskedRows.push(i);
    if (weights.ceMaskedOnly ? labels[r] !== -100 : attentionMask[r] > 0) softRows.push(i);
  });
  const realRows: number[] = [];
  let needed = 0;
  for (let r = 0; r < rows; r++) {
    const real = attentionMask[r] > 0;
    if (real) realRows.push(r);
    if (labels[r] !== -100 || (real && !weights.ceMaskedOnly)) needed += 1;
  }
  if (needed !== new Set([...softRows, ...maskedRows]).size) {
    throw new Error("logitRows must include every row the logit losses look at");
  }

  const ps = new Float64Array(vocab);
  const pt = new Float64Array(vocab);

  // Soft targets. With p = softmax(x/T) and lse = logsumexp(x/T):
  // KL(pt || ps) = sum pt (t - s) / T + lse_s - lse_t, and d/ds of T^2 KL = T (ps - pt).
  let ce = 0;
  let mse = 0;
  if (softRows.length > 0 && (weights.alphaCe !== 0 || weights.alphaMse !== 0)) {
    const ceScale = (weights.alphaCe * T) / softRows.length;
    const mseScale = (2 * weights.alphaMse) / softRows.length;
    for (const i of softRows) {
      const offset = i * vocab;
      if (weights.alphaCe !== 0) {
        const s = unnormalisedSoftmax(studentLogits, offset, vocab, 1 / T, ps);
        const t = unnormalisedSoftmax(teacherLogits, offset, vocab, 1 / T, pt);
        const toPs = 1 / s.sum;
        const toPt = 1 / t.sum;
        let cross = 0;
        for (let v = 0; v < vocab; v++) {
          const p = pt[v] * toPt;
          cross += p * (teacherLogits[offset + v] - studentLogits[offset + v]);
          dStudentLogits[offset + v] = ceScale * (ps[v] * toPs - p);
        }
        ce += cross / T + s.max + Math.log(s.sum) - t.max - Math.log(t.sum);
      }
      if (weights.alphaMse !== 0) {
        for (let v = 0; v < vocab; v++) {
          const diff = studentLogits[offset + v] - teacherLogits[offset + v];
          mse += diff * diff;
          dStudentLogits[offset + v] += mseScale * diff;
        }
      }
    }
    ce = (ce * T * T) / softRows.length;
    mse /= softRows.length;
  }

  // Hard targets: cross-entropy at the masked positions.
  let mlm = 0;
  if (maskedRows.length > 0) {
    const scale = weights.alphaMlm / maskedRows.length;
    for (const i of maskedRows) {
      const offset = i * vocab;
      const label = labels[logitRows[i]];
      const s = unnormalisedSoftmax(studentLogits, offset, vocab, 1, ps);
      mlm += s.max + Math.log(s.sum) - studentLogits[offset + label];
      if (scale !== 0) {
        const toP = scale / s.sum;
        for (let v = 0; v < vocab; v++) dStudentLogits[offset + v] += toP * ps[v];
        dStudentLogits[offset + label] -= scale;
      }
    }
    mlm /= maskedRows.length;
  }

  // Hidden-state alignment: 1 - cos, with PyTorch's epsilon inside the norms.
  let cos = 0;
  if (realRows.length > 0) {
    const eps = 1e-12;
    const scale = weights.alphaCos / realRows.length;
    for (const r of realRows) {
      const offset = r * dim;
      let dot = 0;
      let ss = 0;
      let tt = 0;
      for (let d = 0; d < dim; d++) {
        const s = studentHidden[offset + d];
        const t = teacherHidden[offset + d];
        dot += s * t;
        ss += s * s;
        tt += t * t;
      }
      ss += eps;
      tt += eps;
      const norm = Math.sqrt(ss * tt);
      const cosine = dot / norm;
      cos += 1 - cosine;
      if (scale !== 0) {
        for (let d = 0; d < dim; d++) {
          const gradCos =
            teacherHidden[offset + d] / norm - (cosine * studentHidden[offset + d]) / ss;
          dStudentHidden[offset + d] -= scale * gradCos;
        }
      }
    }
    cos /= realRows.length;
  }

  const total =
    weights.alphaCe * ce + weights.alphaMlm * mlm + weights.alphaCos * cos + weights.alphaMse * mse;
  return { total, ce, mlm, cos, mse, dStudentLogits, dStudentHidden };
}
