// Batches: length-grouped order (less padding) drawn from a seeded RNG per epoch, so any epoch's
// order can be rebuilt from the seed alone, and dynamic padding to each batch's longest sequence.

import { Rng } from "../models/rng.js";
import type { ModelInputs, ModelLabels } from "../models/types.js";
import type { Feature } from "./features.js";

/** How many batches are sorted by length together (as Hugging Face's LengthGroupedSampler). */
const MEGA_BATCH = 50;

/**
 * The epoch's batches, as lists of feature indices: a seeded shuffle, cut into mega-batches of 50
 * batches, each sorted by length (longest first) and cut into batches; then the batches shuffled.
 */
export function epochBatches(
  lengths: number[],
  batchSize: number,
  seed: number,
  epoch: number,
): number[][] {
  const rng = new Rng(seed, epoch + 1);
  const order = rng.shuffle(lengths.map((_, i) => i));
  const batches: number[][] = [];
  const mega = batchSize * MEGA_BATCH;
  for (let start = 0; start < order.length; start += mega) {
    const group = order.slice(start, start + mega).sort((a, b) => lengths[b] - lengths[a]);
    for (let i = 0; i < group.length; i += batchSize) batches.push(group.slice(i, i + batchSize));
  }
  return rng.shuffle(batches);
}

/** Evaluation batches: in order of length, so padding is small; the order does not matter. */
export function evaluationBatches(lengths: number[], batchSize: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

export interface Batch {
  inputs: ModelInputs;
  labels: ModelLabels;
  /** Real (unpadded) tokens in the batch. */
  tokens: number;
}

/** Pads the features to the batch's longest sequence and gathers their labels. */
export function collate(features: Feature[], padId: number): Batch {
  const batch = features.length;
  const choices = features[0].sequences.length;
  const seq = Math.max(...features.map((f) => f.length));
  const rows = batch * choices;
  const inputIds = new Int32Array(rows * seq).fill(padId);
  const tokenTypeIds = new Int32Array(rows * seq);
  const attentionMask = new Float32Array(rows * seq);
  let tokens = 0;
  features.forEach((feature, b) => {
    feature.sequences.forEach((sequence, c) => {
      const offset = (b * choices + c) * seq;
      inputIds.set(sequence.ids, offset);
      tokenTypeIds.set(sequence.typeIds, offset);
      attentionMask.fill(1, offset, offset + sequence.ids.length);
      tokens += sequence.ids.length;
    });
  });
  const inputs: ModelInputs = { inputIds, tokenTypeIds, attentionMask, batch, seq };
  if (choices > 1) inputs.choices = choices;
  const labels: ModelLabels = {};
  const first = features[0];
  if (first.label !== undefined) labels.labels = Int32Array.from(features, (f) => f.label ?? 0);
  if (first.floatLabel !== undefined) {
    labels.floatLabels = Float32Array.from(features, (f) => f.floatLabel ?? 0);
  }
  if (first.tokenLabels !== undefined) {
    const tokenLabels = new Int32Array(batch * seq).fill(-100);
    features.forEach((f, b) => {
      tokenLabels.set(f.tokenLabels ?? [], b * seq);
    });
    labels.labels = tokenLabels;
  }
  if (first.startPosition !== undefined) {
    labels.startPositions = Int32Array.from(features, (f) => f.startPosition ?? 0);
    labels.endPositions = Int32Array.from(features, (f) => f.endPosition ?? 0);
  }
  return { inputs, labels, tokens };
}
