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

import type { Backend } from "../tensor/backend.js";

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
  /** [rows, dim]; absent for logits alone (a classifier's task distillation): no cosine term. */
  studentHidden?: Float32Array;
  teacherHidden?: Float32Array;
  /** [rows]: 1 real token, 0 padding. */
  attentionMask: Float32Array;
  /** [rows]: the original token where the MLM loss applies, -100 elsewhere. */
  labels: Int32Array;
  rows: number;
  vocab: number;
  /** The hidden states' width; 0 without them. */
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

export function distillLoss(
  backend: Backend,
  inputs: DistillLossInputs,
  weights: DistillLossWeights,
): DistillLoss {
  const { rows, vocab, dim, attentionMask, labels } = inputs;
  const { studentLogits, teacherLogits, studentHidden, teacherHidden } = inputs;
  const T = weights.temperature;
  const logitRows = inputs.logitRows ?? Int32Array.from({ length: rows }, (_, r) => r);
  const dStudentHidden = new Float32Array(rows * dim);

  // Per logit row: whether the soft terms apply, and the hard target (-100: none).
  const soft = new Uint8Array(logitRows.length);
  const rowLabels = new Int32Array(logitRows.length);
  let softCount = 0;
  let maskedCount = 0;
  logitRows.forEach((r, i) => {
    const label = labels[r];
    if (label !== -100 && !(Number.isInteger(label) && label >= 0 && label < vocab)) {
      throw new Error(`label ${label} at row ${r} is outside the ${vocab} classes`);
    }
    rowLabels[i] = label;
    if (label !== -100) maskedCount += 1;
    if (weights.ceMaskedOnly ? label !== -100 : attentionMask[r] > 0) {
      soft[i] = 1;
      softCount += 1;
    }
  });
  const realRows: number[] = [];
  let needed = 0;
  for (let r = 0; r < rows; r++) {
    const real = attentionMask[r] > 0;
    if (real) realRows.push(r);
    if (labels[r] !== -100 || (real && !weights.ceMaskedOnly)) needed += 1;
  }
  let covered = 0;
  for (let i = 0; i < logitRows.length; i++) if (soft[i] || rowLabels[i] !== -100) covered += 1;
  if (needed !== covered) {
    throw new Error("logitRows must include every row the logit losses look at");
  }

  // The vocabulary-wide softmaxes are the bulk of the work: the backend does them row by row.
  const dStudentLogits = new Float32Array(logitRows.length * vocab);
  const rowLosses = new Float32Array(3 * logitRows.length);
  backend.logitLosses(
    studentLogits,
    teacherLogits,
    soft,
    rowLabels,
    dStudentLogits,
    rowLosses,
    logitRows.length,
    vocab,
    {
      temperature: T,
      ceScale: softCount > 0 ? (weights.alphaCe * T) / softCount : 0,
      mlmScale: maskedCount > 0 ? weights.alphaMlm / maskedCount : 0,
      mseScale: softCount > 0 ? (2 * weights.alphaMse) / softCount : 0,
    },
  );
  let ce = 0;
  let mlm = 0;
  let mse = 0;
  for (let i = 0; i < logitRows.length; i++) {
    ce += rowLosses[3 * i];
    mlm += rowLosses[3 * i + 1];
    mse += rowLosses[3 * i + 2];
  }
  ce = softCount > 0 ? (ce * T * T) / softCount : 0;
  mse = softCount > 0 ? mse / softCount : 0;
  mlm = maskedCount > 0 ? mlm / maskedCount : 0;

  // Hidden-state alignment: 1 - cos, with PyTorch's epsilon inside the norms.
  let cos = 0;
  if (studentHidden === undefined || teacherHidden === undefined) {
    if (weights.alphaCos !== 0) throw new Error("the cosine loss needs both hidden states");
  } else if (realRows.length > 0) {
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
