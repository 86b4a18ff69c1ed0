// The losses Hugging Face's heads compute, each returning the loss and its gradient with respect
// to the logits. Sums run in float64; every loss is a mean, as PyTorch's default reduction.

import { UserError } from "../errors.js";

export const IGNORE_INDEX = -100;

export interface LossResult {
  loss: number;
  /** dLoss/dLogits, the logits' shape. */
  grad: Float32Array;
}

// logits [rows, classes], labels [rows] -> mean cross-entropy over rows whose label != ignoreIndex
export function crossEntropyLoss(
  logits: Float32Array,
  labels: Int32Array,
  rows: number,
  classes: number,
  ignoreIndex = IGNORE_INDEX,
  what = "labels",
): LossResult {
  const grad = new Float32Array(rows * classes);
  let counted = 0;
  for (let r = 0; r < rows; r++) {
    const label = labels[r];
    if (label === ignoreIndex) continue;
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new UserError(
        `${what} holds ${label} at position ${r}, outside 0..${classes - 1} (use ${ignoreIndex} to ignore a position)`,
      );
    }
    counted++;
  }
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const label = labels[r];
    if (label === ignoreIndex) continue;
    const row = logits.subarray(r * classes, (r + 1) * classes);
    let max = -Infinity;
    for (let c = 0; c < classes; c++) if (row[c] > max) max = row[c];
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(row[c] - max);
    const logSum = Math.log(sum) + max;
    total += logSum - row[label];
    for (let c = 0; c < classes; c++) {
      const p = Math.exp(row[c] - logSum);
      grad[r * classes + c] = (p - (c === label ? 1 : 0)) / counted;
    }
  }
  // No counted rows gives NaN, as PyTorch does.
  return { loss: total / counted, grad };
}

// predictions [n], targets [n] -> mean squared error
export function mseLoss(predictions: Float32Array, targets: Float32Array, n: number): LossResult {
  const grad = new Float32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d = predictions[i] - targets[i];
    total += d * d;
    grad[i] = (2 * d) / n;
  }
  return { loss: total / n, grad };
}

// logits [n], targets [n] in [0, 1] -> mean binary cross-entropy on sigmoid(logits), stably
export function bceWithLogitsLoss(
  logits: Float32Array,
  targets: Float32Array,
  n: number,
): LossResult {
  const grad = new Float32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const x = logits[i];
    const y = targets[i];
    total += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
    grad[i] = (1 / (1 + Math.exp(-x)) - y) / n;
  }
  return { loss: total / n, grad };
}

/**
 * Hugging Face's extractive QA loss: positions clamped to [0, seq], seq itself ignored, the mean
 * of the start and end cross-entropies. start/end logits [batch, seq], positions [batch].
 */
export function questionAnsweringLoss(
  startLogits: Float32Array,
  endLogits: Float32Array,
  startPositions: Int32Array,
  endPositions: Int32Array,
  batch: number,
  seq: number,
): { loss: number; dStart: Float32Array; dEnd: Float32Array } {
  const clamp = (positions: Int32Array) =>
    Int32Array.from(positions, (p) => Math.min(Math.max(p, 0), seq));
  const start = crossEntropyLoss(startLogits, clamp(startPositions), batch, seq, seq);
  const end = crossEntropyLoss(endLogits, clamp(endPositions), batch, seq, seq);
  for (let i = 0; i < start.grad.length; i++) {
    start.grad[i] /= 2;
    end.grad[i] /= 2;
  }
  return { loss: (start.loss + end.loss) / 2, dStart: start.grad, dEnd: end.grad };
}
