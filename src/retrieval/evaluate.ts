// A BEIR-style retrieval evaluation: embed the corpus and the queries with a model folder's pooling,
// rank every document for each query by cosine similarity (exact, brute force), optionally rescore
// each query's top K with a cross-encoder, and score the rankings (metrics.ts).
//
// Embeddings: the pooled vector, un-normalized, cut to its first `dims` components (Matryoshka
// evaluation; all of them by default), then scaled to unit length, so that the dot product is the
// cosine similarity. Ties in score go to the smaller document id (code-unit order), in the dense
// ranking and after reranking alike, so a run is deterministic.

import { UserError } from "../errors.js";
import type { ModelDtype } from "../models/index.js";
import type { Pooling } from "../models/pooling.js";
import { DEFAULT_BATCH_SIZE } from "../pipelines/base.js";
import type { FeatureExtractionPipeline } from "../pipelines/feature-extraction.js";
import { loadForTask, modelPooling } from "../pipelines/load.js";
import { normalizeL2, topKIndices } from "../pipelines/math.js";
import { createPipeline } from "../pipelines/tasks.js";
import type { Backend } from "../tensor/index.js";
import { readBeirSet } from "./beir.js";
import {
  evaluatedQueries,
  meanRetrievalMetrics,
  RANKING_DEPTH,
  type Ranking,
  type RetrievalMetrics,
} from "./metrics.js";

/** How many documents the cross-encoder rescores per query when no --top-k is given. */
export const DEFAULT_RERANK_DEPTH = 50;

/** Texts per embedding call: the progress callback runs after each. */
const PROGRESS_CHUNK = 256;

export interface RetrievalEvaluationOptions {
  /** The embedding model folder (or Hub id). */
  model: string;
  queries: string;
  corpus: string;
  qrels: string;
  /** A cross-encoder (one-label sequence-classification) folder to rerank with. */
  reranker?: string;
  /** How many of each query's documents the reranker rescores; default 50. */
  rerankDepth?: number;
  /** Keep the first `dims` components of each embedding; default all. */
  dims?: number;
  batchSize?: number;
  backend?: Backend;
  dtype?: ModelDtype;
  /** Called as the corpus is embedded: documents done, documents in all. */
  onCorpusProgress?: (embedded: number, total: number) => void;
}

export interface RetrievalEvaluation {
  metrics: RetrievalMetrics;
  /** Queries scored: those with a relevant document in the qrels. */
  queries: number;
  documents: number;
  /** Components of the embeddings compared. */
  dims: number;
  /** The model's hidden size, the most `dims` can be. */
  hiddenSize: number;
}

/**
 * The texts' embeddings cut to `dims` and unit length, as rows of one [texts, dims] matrix.
 * Texts are embedded shortest first, so that a batch pads to a length near its members'.
 */
function embeddingMatrix(
  extractor: FeatureExtractionPipeline,
  texts: string[],
  pooling: Pooling,
  dims: number,
  batchSize: number,
  onProgress?: (embedded: number, total: number) => void,
): Float32Array {
  const order = texts.map((_, i) => i).sort((a, b) => texts[a].length - texts[b].length);
  const matrix = new Float32Array(texts.length * dims);
  for (let first = 0; first < order.length; first += PROGRESS_CHUNK) {
    const chunk = order.slice(first, first + PROGRESS_CHUNK);
    const vectors = extractor.embedTexts(
      chunk.map((i) => texts[i]),
      pooling,
      false,
      batchSize,
    );
    chunk.forEach((row, j) => {
      matrix.set(vectors[j].subarray(0, dims), row * dims);
      normalizeL2(matrix, row * dims, dims);
    });
    onProgress?.(first + chunk.length, texts.length);
  }
  return matrix;
}

/** The dot product of each row of `matrix` [rows, dims] with `query` [dims]. */
function dotProducts(matrix: Float32Array, dims: number, query: Float32Array): Float64Array {
  const scores = new Float64Array(matrix.length / dims);
  for (let row = 0; row < scores.length; row++) {
    let dot = 0;
    for (let i = 0; i < dims; i++) dot += matrix[row * dims + i] * query[i];
    scores[row] = dot;
  }
  return scores;
}

function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * `ranking`'s first `depth` documents reordered by `scores` (a cross-encoder's, of their texts),
 * then the rest in their order.
 */
export function rerank(
  scores: (texts: string[]) => Float32Array,
  ranking: Ranking,
  depth: number,
  textOf: ReadonlyMap<string, string>,
): Ranking {
  const top = ranking.slice(0, depth);
  const logits = scores(top.map((id) => textOf.get(id) as string));
  const order = top
    .map((id, i) => ({ id, score: logits[i] }))
    .sort((a, b) => b.score - a.score || byId(a.id, b.id));
  return [...order.map(({ id }) => id), ...ranking.slice(depth)];
}

export async function evaluateRetrieval(
  options: RetrievalEvaluationOptions,
): Promise<RetrievalEvaluation> {
  // Read and check the files before loading a model, so a bad file fails at once.
  const set = readBeirSet(options);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const loadOptions = { backend: options.backend, dtype: options.dtype };
  const loaded = await loadForTask("feature-extraction", options.model, loadOptions);
  const extractor = createPipeline("feature-extraction", loaded);
  const pooling = modelPooling(loaded.dir);
  const hiddenSize = loaded.config.hiddenSize;
  const dims = options.dims ?? hiddenSize;
  if (!Number.isInteger(dims) || dims < 1 || dims > hiddenSize) {
    throw new UserError(
      `--dims must be a whole number from 1 to ${hiddenSize} (the hidden size of ${options.model}), got ${dims}`,
    );
  }
  const ranker = options.reranker
    ? createPipeline(
        "text-ranking",
        await loadForTask("text-ranking", options.reranker, loadOptions),
      )
    : null;
  const rerankDepth = options.rerankDepth ?? DEFAULT_RERANK_DEPTH;

  // Rows in id order: topKIndices keeps equal scores in row order, which is then id order.
  const documents = [...set.documents].sort((a, b) => byId(a.id, b.id));
  const corpus = embeddingMatrix(
    extractor,
    documents.map((document) => document.text),
    pooling,
    dims,
    batchSize,
    options.onCorpusProgress,
  );
  const queryIds = evaluatedQueries(set.qrels);
  const queryTexts = queryIds.map((id) => set.queries.get(id) as string);
  const queries = embeddingMatrix(extractor, queryTexts, pooling, dims, batchSize);
  const textOf = new Map(documents.map((document) => [document.id, document.text]));

  const depth = Math.max(RANKING_DEPTH, ranker ? rerankDepth : 0);
  const rankings = new Map<string, Ranking>();
  queryIds.forEach((id, q) => {
    const query = queries.subarray(q * dims, (q + 1) * dims);
    const scores = dotProducts(corpus, dims, query);
    let ranking: Ranking = topKIndices(scores, depth).map((row) => documents[row].id);
    if (ranker) {
      ranking = rerank(
        (texts) => ranker.scores(queryTexts[q], texts, batchSize),
        ranking,
        rerankDepth,
        textOf,
      );
    }
    rankings.set(id, ranking);
  });
  const { metrics, queries: scored } = meanRetrievalMetrics(rankings, set.qrels);
  return { metrics, queries: scored, documents: documents.length, dims, hiddenSize };
}
