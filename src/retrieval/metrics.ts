// Retrieval metrics as BEIR reports them (pytrec_eval's ndcg_cut, recall, map_cut and BEIR's own
// MRR): pure functions over one query's ranking (document ids, best first) and its judgments
// (document id -> graded relevance from the qrels), and their mean over a set of queries.
//
// A document is relevant when its relevance is above 0; unjudged documents count as 0.
//   nDCG@k   = DCG@k / IDCG@k, DCG@k = sum over ranks i <= k of gain(d_i) / log2(i + 1), where the
//              gain is the relevance (0 if not above 0); IDCG@k is the DCG@k of the query's
//              judgments sorted by relevance, best first (all of them, retrieved or not)
//   MRR@k    = 1 / rank of the first relevant document within the top k, 0 if none
//   recall@k = relevant documents in the top k / all relevant documents of the query
//   AP@k     = (sum over ranks i <= k holding a relevant document of precision@i)
//              / all relevant documents of the query
// The mean is over the queries with at least one relevant document (BEIR skips the others);
// "map" is map@100 under its BEIR name.

import { UserError } from "../errors.js";

/** One query's judgments: document id -> graded relevance (the qrels score). */
export type Judgments = ReadonlyMap<string, number>;

/** Query id -> its judgments. */
export type Qrels = ReadonlyMap<string, Judgments>;

/** A query's documents, best first. */
export type Ranking = readonly string[];

export const RETRIEVAL_METRICS = [
  "ndcg@10",
  "mrr@10",
  "recall@1",
  "recall@10",
  "recall@100",
  "map@100",
  "map",
] as const;

export type RetrievalMetrics = Record<(typeof RETRIEVAL_METRICS)[number], number>;

/** How many documents of each ranking the metrics read: the deepest cut, map@100's. */
export const RANKING_DEPTH = 100;

function gain(judgments: Judgments, document: string): number {
  return Math.max(judgments.get(document) ?? 0, 0);
}

function relevantCount(judgments: Judgments): number {
  let count = 0;
  for (const relevance of judgments.values()) if (relevance > 0) count++;
  return count;
}

export function ndcgAt(ranking: Ranking, judgments: Judgments, k: number): number {
  let dcg = 0;
  for (let i = 0; i < Math.min(k, ranking.length); i++) {
    dcg += gain(judgments, ranking[i]) / Math.log2(i + 2);
  }
  const ideal = [...judgments.values()]
    .filter((relevance) => relevance > 0)
    .sort((a, b) => b - a)
    .slice(0, k);
  let idcg = 0;
  ideal.forEach((relevance, i) => {
    idcg += relevance / Math.log2(i + 2);
  });
  return idcg > 0 ? dcg / idcg : 0;
}

export function reciprocalRankAt(ranking: Ranking, judgments: Judgments, k: number): number {
  for (let i = 0; i < Math.min(k, ranking.length); i++) {
    if (gain(judgments, ranking[i]) > 0) return 1 / (i + 1);
  }
  return 0;
}

export function recallAt(ranking: Ranking, judgments: Judgments, k: number): number {
  const relevant = relevantCount(judgments);
  if (relevant === 0) return 0;
  let found = 0;
  for (let i = 0; i < Math.min(k, ranking.length); i++) {
    if (gain(judgments, ranking[i]) > 0) found++;
  }
  return found / relevant;
}

export function averagePrecisionAt(ranking: Ranking, judgments: Judgments, k: number): number {
  const relevant = relevantCount(judgments);
  if (relevant === 0) return 0;
  let found = 0;
  let sum = 0;
  for (let i = 0; i < Math.min(k, ranking.length); i++) {
    if (gain(judgments, ranking[i]) > 0) {
      found++;
      sum += found / (i + 1);
    }
  }
  return sum / relevant;
}

/** The queries the metrics average over: those with at least one relevant document. */
export function evaluatedQueries(qrels: Qrels): string[] {
  return [...qrels].filter(([, judgments]) => relevantCount(judgments) > 0).map(([query]) => query);
}

/** Every metric of one query. */
export function queryMetrics(ranking: Ranking, judgments: Judgments): RetrievalMetrics {
  const map = averagePrecisionAt(ranking, judgments, 100);
  return {
    "ndcg@10": ndcgAt(ranking, judgments, 10),
    "mrr@10": reciprocalRankAt(ranking, judgments, 10),
    "recall@1": recallAt(ranking, judgments, 1),
    "recall@10": recallAt(ranking, judgments, 10),
    "recall@100": recallAt(ranking, judgments, 100),
    "map@100": map,
    map,
  };
}

/**
 * The metrics averaged over the evaluated queries (a query without a ranking has retrieved
 * nothing), and how many queries that is.
 */
export function meanRetrievalMetrics(
  rankings: ReadonlyMap<string, Ranking>,
  qrels: Qrels,
): { metrics: RetrievalMetrics; queries: number } {
  const queries = evaluatedQueries(qrels);
  if (queries.length === 0) {
    throw new UserError(
      "no query has a relevant document (a qrels score above 0): nothing to score",
    );
  }
  const sums = Object.fromEntries(RETRIEVAL_METRICS.map((name) => [name, 0])) as RetrievalMetrics;
  for (const query of queries) {
    const metrics = queryMetrics(rankings.get(query) ?? [], qrels.get(query) as Judgments);
    for (const name of RETRIEVAL_METRICS) sums[name] += metrics[name];
  }
  for (const name of RETRIEVAL_METRICS) sums[name] /= queries.length;
  return { metrics: sums, queries: queries.length };
}
