// Retrieval within a set of pairs: each anchor is a query whose one relevant document is its own
// positive, among every pair's positive. Used to score held-out pairs while training (the metrics
// of metrics.ts) and to mine hard negatives for a reranker (the best-scored positives of other
// pairs).

import { UserError } from "../errors.js";
import { normalizeL2, topKIndices } from "../pipelines/math.js";
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

/**
 * Calls `visit` with each anchor's cosine scores against every document, one anchor's row at a
 * time (a large set's whole matrix would not fit in memory; the row is reused).
 */
function forEachCosineRow(
  embed: Embed,
  anchors: string[],
  documents: string[],
  visit: (row: Float64Array, anchor: number) => void,
): void {
  const unit = (vectors: Float32Array[]) => {
    for (const vector of vectors) normalizeL2(vector);
    return vectors;
  };
  const docVectors = unit(embed(documents));
  const row = new Float64Array(documents.length);
  unit(embed(anchors)).forEach((query, a) => {
    docVectors.forEach((doc, d) => {
      let dot = 0;
      for (let k = 0; k < doc.length; k++) dot += doc[k] * query[k];
      row[d] = dot;
    });
    visit(row, a);
  });
}

/** nDCG@10, MRR@10, recall and MAP of finding each anchor's positive among all the positives. */
export function pairRetrievalMetrics(embed: Embed, pairs: TextPair[]): RetrievalMetrics {
  if (pairs.length < 2) throw new UserError("retrieval needs at least two evaluation pairs");
  const { documents, positiveOf } = distinctPositives(pairs);
  const rankings = new Map<string, Ranking>();
  const qrels = new Map<string, Map<string, number>>();
  const anchors = pairs.map((pair) => pair.anchor);
  forEachCosineRow(embed, anchors, documents, (row, i) => {
    rankings.set(
      `q${i}`,
      topKIndices(row, RANKING_DEPTH).map((d) => `d${d}`),
    );
    qrels.set(`q${i}`, new Map([[`d${positiveOf[i]}`, 1]]));
  });
  return meanRetrievalMetrics(rankings, qrels).metrics;
}

/**
 * For each pair, up to `count` hard negatives: the other positives the embedding model scores
 * highest for its anchor, skipping any that score within `relativeMargin` of the pair's own
 * positive (likely unlabelled positives, as sentence-transformers' mine_hard_negatives skips).
 */
export function mineHardNegatives(
  embed: Embed,
  pairs: TextPair[],
  count: number,
  relativeMargin = 0.05,
): string[][] {
  const { documents, positiveOf } = distinctPositives(pairs);
  const mined: string[][] = [];
  const anchors = pairs.map((pair) => pair.anchor);
  forEachCosineRow(embed, anchors, documents, (row, i) => {
    const ceiling = row[positiveOf[i]] * (1 - relativeMargin);
    const negatives: string[] = [];
    for (const d of topKIndices(row, count * 4 + 1)) {
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
