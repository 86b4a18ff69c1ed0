// Training a reranker (a cross-encoder: query and passage read together as a text pair, one logit
// for their relevance), as sentence-transformers' CrossEncoder trains one: binary cross-entropy on
// sigmoid(logit) against the pair's label in [0, 1], through the one training loop. Labelled pairs
// come from the data; anchor/positive pairs become one positive and `negatives` negatives each,
// mined by an embedding model (mining.ts) or drawn at random from the other pairs' positives.

import { UserError } from "../errors.js";
import { bceWithLogitsLoss } from "../models/losses.js";
import { Rng } from "../models/rng.js";
import type { Model } from "../models/types.js";
import { packEncodings } from "../pipelines/base.js";
import type { Encoding, Tokenizer } from "../tokenizer/index.js";
import { epochBatches } from "../train/batching.js";
import type { LoadedCheckpoint } from "../train/checkpoint.js";
import { type LoopOptions, type LoopResult, runLoop } from "../train/loop.js";
import type { Reporter } from "../train/reporter.js";
import type { TextPair } from "./pairs.js";

/** A query and passage with its relevance label in [0, 1]. */
export interface LabelledPair {
  query: string;
  passage: string;
  label: number;
}

/** Labelled pairs from scored data: the score must be in [0, 1] (1 relevant, 0 not). */
export function labelledPairs(pairs: TextPair[]): LabelledPair[] {
  return pairs.map((pair, i) => {
    const label = pair.score as number;
    if (!(label >= 0 && label <= 1)) {
      throw new UserError(
        `pair ${i + 1}: a reranker's label must be between 0 and 1 (1 relevant), got ${label}`,
      );
    }
    return { query: pair.anchor, passage: pair.positive, label };
  });
}

/**
 * Each anchor with its positive (label 1), its own hard negative if the data has one, and the
 * negatives `negativesFor(i)` names (label 0).
 */
export function pairsWithNegatives(
  pairs: TextPair[],
  negativesFor: (i: number) => string[],
): LabelledPair[] {
  const labelled: LabelledPair[] = [];
  pairs.forEach((pair, i) => {
    labelled.push({ query: pair.anchor, passage: pair.positive, label: 1 });
    if (pair.negative !== null)
      labelled.push({ query: pair.anchor, passage: pair.negative, label: 0 });
    for (const passage of negativesFor(i)) labelled.push({ query: pair.anchor, passage, label: 0 });
  });
  return labelled;
}

/** `count` other pairs' positives for each pair, drawn by a seeded generator. */
export function randomNegatives(pairs: TextPair[], count: number, seed: number): string[][] {
  const rng = new Rng(seed, 11);
  return pairs.map((pair) => {
    const negatives: string[] = [];
    for (let tries = 0; negatives.length < count && tries < count * 10; tries++) {
      const other = pairs[rng.int(pairs.length)].positive;
      if (other !== pair.positive && !negatives.includes(other)) negatives.push(other);
    }
    return negatives;
  });
}

export interface EncodedLabelledPair {
  encoding: Encoding;
  label: number;
}

export function encodeLabelledPairs(
  pairs: LabelledPair[],
  tokenizer: Tokenizer,
  maxLength: number,
): EncodedLabelledPair[] {
  return pairs.map((pair) => ({
    // Longest first, as Hugging Face's CrossEncoder cuts (a long query could not fit otherwise).
    encoding: tokenizer.encode(pair.query, pair.passage, { maxLength, truncation: true }),
    label: pair.label,
  }));
}

/** The model's logit for each (query, passage), in evaluation mode. */
export function scorePairs(
  model: Model,
  tokenizer: Tokenizer,
  query: string,
  passages: string[],
  maxLength: number,
  batchSize: number,
): Float32Array {
  const scores = new Float32Array(passages.length);
  const labelled = passages.map((passage) => ({ query, passage, label: 0 }));
  for (let start = 0; start < passages.length; start += batchSize) {
    const encodings = encodeLabelledPairs(
      labelled.slice(start, start + batchSize),
      tokenizer,
      maxLength,
    ).map((pair) => pair.encoding);
    const packed = packEncodings(encodings, tokenizer.padTokenId);
    const outputs = model.forward({ ...packed, batch: encodings.length });
    scores.set((outputs.logits as Float32Array).subarray(0, encodings.length), start);
  }
  return scores;
}

export interface RerankerTrainingInputs {
  /** A sequence classifier with one label. */
  model: Model;
  pairs: EncodedLabelledPair[];
  padId: number;
  evaluate: (() => Record<string, number>) | null;
  writeFolder(dir: string): void;
  reporter?: Reporter;
}

export function trainReranker(
  inputs: RerankerTrainingInputs,
  options: { batchSize: number; maxLength: number },
  loop: Omit<LoopOptions, "timeBudget">,
  resume: LoadedCheckpoint | null = null,
): LoopResult {
  const { model, pairs, padId } = inputs;
  const sameLengths = pairs.map(() => 0);
  return runLoop(
    {
      model,
      epochBatches: (epoch) => epochBatches(sameLengths, options.batchSize, loop.seed, epoch),
      step(indices, rng) {
        const encodings = indices.map((i) => pairs[i].encoding);
        const packed = packEncodings(encodings, padId);
        const outputs = model.forward({ ...packed, batch: encodings.length }, undefined, {
          train: true,
          dropoutSeed: rng.uint32(),
        });
        const labels = Float32Array.from(indices, (i) => pairs[i].label);
        const { loss, grad } = bceWithLogitsLoss(
          outputs.logits as Float32Array,
          labels,
          indices.length,
        );
        model.backward({ dLogits: grad });
        const tokens = encodings.reduce((sum, e) => sum + e.ids.length, 0);
        return { loss, parts: {}, examples: indices.length, tokens };
      },
      evaluate: inputs.evaluate,
      writeFolder: inputs.writeFolder,
      settings: {
        task: "reranker",
        pairs: pairs.length,
        batchSize: options.batchSize,
        maxLength: options.maxLength,
      },
    },
    { ...loop, timeBudget: null },
    inputs.reporter,
    resume,
  );
}
