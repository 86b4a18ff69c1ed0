// One distillation step's forward and backward on a masked batch: the teacher in inference mode,
// the student in training mode, the triple loss, and the student's gradients accumulated.

import { type DistillLoss, type DistillLossWeights, distillLoss } from "./losses.js";
import type { MaskedBatch } from "./mlm-data.js";
import type { RowMaskedLM } from "./row-mlm.js";

export interface BatchShape {
  batch: number;
  seq: number;
}

/** The rows whose logits a loss needs: the masked ones, plus every real one for full soft targets. */
export function logitRowsFor(masked: MaskedBatch, ceMaskedOnly: boolean): Int32Array {
  const rows: number[] = [];
  for (let r = 0; r < masked.labels.length; r++) {
    if (masked.labels[r] !== -100 || (!ceMaskedOnly && masked.attentionMask[r] > 0)) rows.push(r);
  }
  return Int32Array.from(rows);
}

/** Forward both models, compute the loss, back-propagate into the student's param.grad. */
export function mlmDistillStep(
  teacher: RowMaskedLM,
  student: RowMaskedLM,
  masked: MaskedBatch,
  shape: BatchShape,
  weights: DistillLossWeights,
  dropoutSeed?: number,
): DistillLoss {
  const rows = logitRowsFor(masked, weights.ceMaskedOnly);
  const inputs = {
    inputIds: masked.inputIds,
    attentionMask: masked.attentionMask,
    batch: shape.batch,
    seq: shape.seq,
  };
  const teacherOut = teacher.forward(inputs, rows);
  // The teacher's outputs live in its buffers, which the student's forward does not touch.
  const studentOut = student.forward(inputs, rows, { train: true, dropoutSeed });
  const loss = distillLoss(
    student.encoder.backend,
    {
      studentLogits: studentOut.logits,
      teacherLogits: teacherOut.logits,
      logitRows: rows,
      studentHidden: studentOut.lastHiddenState,
      teacherHidden: teacherOut.lastHiddenState,
      attentionMask: masked.attentionMask,
      labels: masked.labels,
      rows: shape.batch * shape.seq,
      vocab: student.config.vocabSize,
      dim: student.config.hiddenSize,
    },
    weights,
  );
  student.backward(loss.dStudentLogits, loss.dStudentHidden);
  return loss;
}
