// Training a sentence-embedding model, as sentence-transformers trains one: the encoder's pooled
// outputs of both sides of each pair, MultipleNegativesRankingLoss (in-batch negatives) on
// (anchor, positive[, negative]) pairs, CoSENT on scored pairs, or CosineSimilarityLoss on pairs
// labelled 1/0 (SetFit's body), optionally as a Matryoshka loss over prefixes of the vectors,
// through the one training loop (loop.ts: schedule, clipping, AdamW,
// checkpoints, exact resume).
//
// A step embeds every text of the batch, computes the loss and its gradient with respect to the
// pooled vectors, then back-propagates those through pooling into the encoder. With a mini-batch
// size (GradCache, Gao et al. 2021, sentence-transformers' Cached* losses) the texts are embedded
// in chunks without keeping activations, the loss sees the whole batch, and each chunk is then run
// again, with the same dropout, to back-propagate its share: the in-batch negatives can then
// outnumber what fits in memory at once, for one extra forward pass.

import { type Pooling, pool, poolBackward } from "../models/pooling.js";
import type { Model } from "../models/types.js";
import { packEncodings } from "../pipelines/base.js";
import type { Encoding, Tokenizer } from "../tokenizer/index.js";
import { epochBatches } from "../train/batching.js";
import type { LoadedCheckpoint } from "../train/checkpoint.js";
import { type LoopOptions, type LoopResult, runLoop } from "../train/loop.js";
import type { Reporter } from "../train/reporter.js";
import {
  coSentLoss,
  cosineSimilarityLoss,
  type EmbeddingRows,
  matryoshkaLoss,
  multipleNegativesRankingLoss,
} from "./losses.js";

/** A training pair, tokenized. */
export interface EncodedPair {
  anchor: Encoding;
  positive: Encoding;
  negative: Encoding | null;
  score: number | null;
}

export type EmbeddingLoss = "multiple-negatives-ranking" | "cosent" | "cosine-similarity";

export interface EmbeddingTrainingOptions {
  /** Names the run in its settings: sentence-embedding, or setfit (its body). */
  task: "sentence-embedding" | "setfit";
  pooling: Pooling;
  loss: EmbeddingLoss;
  /** Similarity scale of the loss (sentence-transformers' default 20). */
  scale: number;
  /** Matryoshka prefixes (the full width included), or just the full width. */
  dims: number[];
  batchSize: number;
  /** GradCache: texts per forward pass; null: the whole batch in one pass. */
  miniBatchSize: number | null;
  /** Tokens per text (recorded in the run's settings). */
  maxLength: number;
}

export interface EmbeddingTrainingInputs {
  model: Model;
  /**
   * Epoch `epoch`'s pairs, as many every epoch: the same pairs, or drawn afresh (inverse-cloze
   * pairs take another sentence out of each passage every epoch); a function of the epoch alone,
   * so a resumed run sees the same pairs.
   */
  pairsForEpoch(epoch: number): EncodedPair[];
  padId: number;
  /** Held-out metrics for the loop to keep the best model by; null: the last model is kept. */
  evaluate: (() => Record<string, number>) | null;
  writeFolder(dir: string): void;
  reporter?: Reporter;
}

/**
 * The pooled vectors [texts, hidden] of `encodings` run as one padded batch; dropout seeded by
 * `dropoutSeed`, or off when it is null.
 */
function forwardChunk(
  model: Model,
  encodings: Encoding[],
  padId: number,
  pooling: Pooling,
  train: boolean,
  dropoutSeed: number | null,
) {
  const packed = packEncodings(encodings, padId);
  const size = model.config.hiddenSize;
  const outputs = model.forward({ ...packed, batch: encodings.length }, undefined, {
    train,
    dropout: dropoutSeed !== null,
    dropoutSeed: dropoutSeed ?? undefined,
  });
  const vectors = encodings.map((encoding, b) =>
    pool(pooling, outputs.lastHiddenState, b * packed.seq * size, encoding.attentionMask, size),
  );
  return { vectors, seq: packed.seq };
}

/** Pooled vectors of `texts` (cut to `maxLength` tokens) by the model in evaluation mode. */
export function embedTexts(
  model: Model,
  tokenizer: Tokenizer,
  texts: string[],
  pooling: Pooling,
  maxLength: number,
  batchSize: number,
): Float32Array[] {
  const vectors: Float32Array[] = [];
  for (let start = 0; start < texts.length; start += batchSize) {
    const encodings = texts
      .slice(start, start + batchSize)
      .map((text) => tokenizer.encode(text, null, { maxLength, truncation: true }));
    vectors.push(
      ...forwardChunk(model, encodings, tokenizer.padTokenId, pooling, false, null).vectors,
    );
  }
  return vectors;
}

/** Back-propagates the pooled vectors' gradients `dVectors` through the last (training) forward. */
function backwardChunk(
  model: Model,
  encodings: Encoding[],
  seq: number,
  pooling: Pooling,
  dVectors: Float32Array[],
): void {
  const size = model.config.hiddenSize;
  const dHidden = new Float32Array(encodings.length * seq * size);
  encodings.forEach((encoding, b) => {
    poolBackward(pooling, dVectors[b], dHidden, b * seq * size, encoding.attentionMask, size);
  });
  model.backward({ dLastHiddenState: dHidden });
}

/** The batch's texts in loss order: anchors, then positives, then negatives (when present). */
function batchTexts(pairs: EncodedPair[]): Encoding[] {
  const texts = [...pairs.map((p) => p.anchor), ...pairs.map((p) => p.positive)];
  for (const pair of pairs) if (pair.negative) texts.push(pair.negative);
  return texts;
}

/** The loss of one batch's vectors [texts, size], its gradient added into `grad`. */
function batchLoss(
  options: EmbeddingTrainingOptions,
  pairs: EncodedPair[],
  vectors: Float32Array,
  size: number,
  grad: Float32Array,
): { loss: number; parts: Record<string, number> } {
  const count = pairs.length;
  const anchors = pairs.map((_, i) => i);
  const candidates = Array.from({ length: vectors.length / size - count }, (_, j) => count + j);
  const positives = anchors.map((i) => count + i);
  const scores = pairs.map((p) => p.score ?? 0);
  const weights = options.dims.map(() => 1);
  const one = (embeddings: EmbeddingRows, weight: number) => {
    switch (options.loss) {
      case "cosent":
        return coSentLoss(embeddings, anchors, positives, scores, grad, weight, options.scale);
      case "cosine-similarity":
        return cosineSimilarityLoss(embeddings, anchors, positives, scores, grad, weight);
      case "multiple-negatives-ranking":
        return multipleNegativesRankingLoss(
          embeddings,
          anchors,
          candidates,
          grad,
          weight,
          options.scale,
        );
    }
  };
  const { total, perDim } = matryoshkaLoss(vectors, size, options.dims, weights, one);
  // The loss at each Matryoshka width, shown beside the total.
  const parts =
    options.dims.length > 1
      ? Object.fromEntries(options.dims.map((dim, d) => [`dim${dim}`, perDim[d]]))
      : {};
  return { loss: total, parts };
}

/** Chunks of at most `size` text indices, grouped by length so each pads little. */
function chunksByLength(texts: Encoding[], size: number | null): number[][] {
  const order = texts.map((_, i) => i);
  if (size === null || size >= texts.length) return [order];
  order.sort((a, b) => texts[a].ids.length - texts[b].ids.length || a - b);
  const chunks: number[][] = [];
  for (let i = 0; i < order.length; i += size) chunks.push(order.slice(i, i + size));
  return chunks;
}

/** Trains `inputs.model` (a base encoder) on the pairs; with `inputs.evaluate`, keeps the best. */
export function trainSentenceEmbedding(
  inputs: EmbeddingTrainingInputs,
  options: EmbeddingTrainingOptions,
  loop: Omit<LoopOptions, "timeBudget">,
  resume: LoadedCheckpoint | null = null,
): LoopResult {
  const { model, padId } = inputs;
  const size = model.config.hiddenSize;
  const pairCount = inputs.pairsForEpoch(0).length;
  // In-batch negatives want batches drawn at random, not grouped by length: equal lengths keep
  // epochBatches' seeded shuffle and nothing else.
  const sameLengths = new Array<number>(pairCount).fill(0);
  return runLoop(
    {
      model,
      epochBatches(epoch) {
        const pairs = inputs.pairsForEpoch(epoch);
        return epochBatches(sameLengths, options.batchSize, loop.seed, epoch).map((indices) =>
          indices.map((i) => pairs[i]),
        );
      },
      step(batch, rng) {
        const texts = batchTexts(batch);
        const chunks = chunksByLength(texts, options.miniBatchSize);
        const seeds = chunks.map(() => rng.uint32());
        const keepTape = chunks.length === 1;
        const vectors = new Float32Array(texts.length * size);
        const seqs = chunks.map((chunk, c) => {
          const encodings = chunk.map((i) => texts[i]);
          const run = forwardChunk(model, encodings, padId, options.pooling, keepTape, seeds[c]);
          chunk.forEach((i, k) => {
            vectors.set(run.vectors[k], i * size);
          });
          return run.seq;
        });
        const grad = new Float32Array(texts.length * size);
        const { loss, parts } = batchLoss(options, batch, vectors, size, grad);
        chunks.forEach((chunk, c) => {
          const encodings = chunk.map((i) => texts[i]);
          // Without a cache the one forward above kept its activations; with one, run the chunk
          // again with the same dropout so its activations match the vectors the loss saw.
          if (!keepTape) forwardChunk(model, encodings, padId, options.pooling, true, seeds[c]);
          const dVectors = chunk.map((i) => grad.subarray(i * size, (i + 1) * size));
          backwardChunk(model, encodings, seqs[c], options.pooling, dVectors);
        });
        const tokens = texts.reduce((sum, text) => sum + text.ids.length, 0);
        return { loss, parts, examples: batch.length, tokens };
      },
      evaluate: inputs.evaluate,
      writeFolder: inputs.writeFolder,
      settings: {
        task: options.task,
        pairs: pairCount,
        batchSize: options.batchSize,
        miniBatchSize: options.miniBatchSize ?? 0,
        loss: options.loss,
        scale: options.scale,
        dims: options.dims.join(","),
        pooling: options.pooling,
        maxLength: options.maxLength,
      },
    },
    { ...loop, timeBudget: null },
    inputs.reporter,
    resume,
  );
}
