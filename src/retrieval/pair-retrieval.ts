// Retrieval within a set of pairs: each anchor is a query whose one relevant document is its own
// positive, among every pair's positive. Used to score held-out pairs while training (the metrics
// of metrics.ts) and to mine hard negatives for a reranker (the best-scored positives of other
// pairs).

import { UserError } from "../errors.js";
import { normalizeL2, topKIndices } from "../pipelines/math.js";
import type { Backend } from "../tensor/backend.js";
import {
  meanRetrievalMetrics,
  RANKING_DEPTH,
  type Ranking,
  type RetrievalMetrics,
} from "./metrics.js";
import type { TextPair } from "./pairs.js";

/** Embeds texts into vectors (not necessarily unit length). */
export type Embed = (texts: string[]) => Float32Array[];

/** The distinct positives of the pairs, and for each pair the index of its own among them. */
function distinctPositives(pairs: TextPair[]): { documents: string[]; positiveOf: number[] } {
  const index = new Map<string, number>();
  const positiveOf = pairs.map((pair) => {
    let at = index.get(pair.positive);
    if (at === undefined) {
      at = index.size;
      index.set(pair.positive, at);
    }
    return at;
  });
  return { documents: [...index.keys()], positiveOf };
}

/** The vectors as the rows of one matrix in the backend's memory, each scaled to unit length. */
function unitRows(backend: Backend, vectors: Float32Array[]): Float32Array {
  const dim = vectors[0]?.length ?? 0;
  const matrix = backend.alloc(vectors.length * dim);
  vectors.forEach((vector, i) => {
    matrix.set(vector, i * dim);
    normalizeL2(matrix, i * dim, dim);
  });
  return matrix;
}

/** Anchors scored per matrix product: a block of rows of scores is this many x documents. */
const SCORE_BLOCK = 256;

/**
 * Calls `visit` with each anchor's cosine scores against every document, one anchor's row at a
 * time: the products run on the backend a block of anchors at a time (a large set's whole matrix
 * would not fit in memory), and the row is reused.
 */
function forEachCosineRow(
  embed: Embed,
  backend: Backend,
  anchors: string[],
  documents: string[],
  visit: (row: Float32Array, anchor: number) => void,
): void {
  const docs = unitRows(backend, embed(documents));
  const queries = unitRows(backend, embed(anchors));
  const dim = docs.length / documents.length;
  const scores = backend.alloc(SCORE_BLOCK * documents.length);
  try {
    for (let start = 0; start < anchors.length; start += SCORE_BLOCK) {
      const rows = Math.min(SCORE_BLOCK, anchors.length - start);
      const block = queries.subarray(start * dim, (start + rows) * dim);
      backend.matmul(block, docs, scores, rows, documents.length, dim, { transB: true });
      for (let r = 0; r < rows; r++) {
        visit(scores.subarray(r * documents.length, (r + 1) * documents.length), start + r);
      }
    }
  } finally {
    backend.free(scores);
    backend.free(queries);
    backend.free(docs);
  }
}

/** nDCG@10, MRR@10, recall and MAP of finding each anchor's positive among all the positives. */
export function pairRetrievalMetrics(
  embed: Embed,
  backend: Backend,
  pairs: TextPair[],
): RetrievalMetrics {
  if (pairs.length < 2) throw new UserError("retrieval needs at least two evaluation pairs");
  const { documents, positiveOf } = distinctPositives(pairs);
  const rankings = new Map<string, Ranking>();
  const qrels = new Map<string, Map<string, number>>();
  const anchors = pairs.map((pair) => pair.anchor);
  forEachCosineRow(embed, backend, anchors, documents, (row, i) => {
    rankings.set(
      `q${i}`,
      topKIndices(row, RANKING_DEPTH).map((d) => `d${d}`),
    );
    qrels.set(`q${i}`, new Map([[`d${positiveOf[i]}`, 1]]));
  });
  return meanRetrievalMetrics(rankings, qrels).metrics;
}

/** How many of an anchor's best-scored documents mining considers. */
const MINING_DEPTH = 100;

/**
 * For each pair, up to `count` hard negatives: the other positives the embedding model scores
 * highest for its anchor, skipping any that score within `relativeMargin` of the pair's own
 * positive (likely unlabelled positives, as sentence-transformers' mine_hard_negatives skips).
 */
export function mineHardNegatives(
  embed: Embed,
  backend: Backend,
  pairs: TextPair[],
  count: number,
  relativeMargin = 0.05,
): string[][] {
  const { documents, positiveOf } = distinctPositives(pairs);
  const mined: string[][] = [];
  const anchors = pairs.map((pair) => pair.anchor);
  forEachCosineRow(embed, backend, anchors, documents, (row, i) => {
    const ceiling = row[positiveOf[i]] * (1 - relativeMargin);
    const negatives: string[] = [];
    // The best MINING_DEPTH candidates, as sentence-transformers looks among its top 100: when the
    // positive is not near the top, the first few all sit above the margin.
    for (const d of topKIndices(row, MINING_DEPTH)) {
      if (negatives.length === count) break;
      if (d !== positiveOf[i] && row[d] <= ceiling) negatives.push(documents[d]);
    }
    mined.push(negatives);
  });
  return mined;
}

/** Scores each (query, passage) pair: a reranker's logits. */
export type ScorePairs = (query: string, passages: string[]) => ArrayLike<number>;

/**
 * The metrics of a reranker ordering each anchor's positive among the given negatives (the
 * candidates a first stage would hand it).
 */
export function rerankedPairMetrics(
  score: ScorePairs,
  pairs: TextPair[],
  negatives: string[][],
): RetrievalMetrics {
  const rankings = new Map<string, Ranking>();
  const qrels = new Map<string, Map<string, number>>();
  pairs.forEach((pair, i) => {
    const candidates = [pair.positive, ...negatives[i]];
    const scores = score(pair.anchor, candidates);
    rankings.set(
      `q${i}`,
      topKIndices(scores, RANKING_DEPTH).map((c) => `c${c}`),
    );
    qrels.set(`q${i}`, new Map([["c0", 1]]));
  });
  return meanRetrievalMetrics(rankings, qrels).metrics;
}
