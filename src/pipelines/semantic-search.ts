// Semantic search over a corpus kept in LanceDB (a local folder, or any LanceDB URI): each text
// with its pooled, unit-length embedding. A query is dense (cosine similarity of the embeddings),
// BM25 (LanceDB's full-text index on the texts) or hybrid (the two lists fused by reciprocal rank
// fusion), and its best candidates may be reranked by a cross-encoder. Node only: the browser
// bundle never imports this file.
//
// A complete index is two tables: "documents" (id = the text's position in the corpus, text,
// vector) and "index_info", one row per finished write naming the documents table's version it
// vouches for. That row is written last and readers check that version out, so a build or an add
// that fails midway never shows: a build leaves no info row (and the folder refuses to open), an
// add leaves the previous version in force (the next add starts from it again).

import { existsSync, renameSync, rmSync, statSync } from "node:fs";
import type { Connection, Table } from "@lancedb/lancedb";
import { UserError } from "../errors.js";
import { SafetensorsFile } from "../io/safetensors.js";
import { POOLINGS, type Pooling } from "../models/pooling.js";
import { DEFAULT_BATCH_SIZE } from "./base.js";
import type { FeatureExtractionPipeline } from "./feature-extraction.js";
import { EMBEDDED_MODEL_DIR, loadForTask, type PipelineLoadOptions } from "./load.js";
import { topKIndices } from "./math.js";
import { createPipeline } from "./tasks.js";
import type { TextRankingPipeline } from "./text-ranking.js";

export type SearchMode = "dense" | "bm25" | "hybrid";
export const SEARCH_MODES: readonly SearchMode[] = ["dense", "bm25", "hybrid"];

export interface SearchHit {
  /** Position of the text in the corpus. */
  index: number;
  /**
   * dense: cosine similarity to the query, in [-1, 1]; bm25: the BM25 score; hybrid: the
   * reciprocal rank fusion score; with a reranker: the cross-encoder's logit.
   */
  score: number;
  text: string;
}

export interface SemanticSearchOptions extends PipelineLoadOptions {
  /** A text-ranking model (a cross-encoder's folder or Hub id) that reorders the best candidates. */
  reranker?: string;
  /** Rows from which `add` builds a vector (ANN) index; default ANN_THRESHOLD. */
  annThreshold?: number;
}

export interface AddOptions {
  batchSize?: number;
  /** Called after each batch of texts is embedded. */
  onProgress?: (embedded: number, total: number) => void;
}

export interface BuildOptions extends SemanticSearchOptions, AddOptions {
  /** The embedding model (a folder or Hub id); default: the embedded teacher. */
  model?: string;
  /** How a text's tokens become one vector; default "mean". */
  pooling?: Pooling;
}

export interface OpenOptions extends SemanticSearchOptions {
  /** Embed queries with this model instead of the one the index records (same dimensions). */
  model?: string;
}

export interface SearchOptions {
  /** Hits returned; default 5. */
  topK?: number;
  /** Default "dense". */
  mode?: SearchMode;
  /** With a reranker: how many first-stage candidates it reorders; default 20 (at least topK). */
  rerankTop?: number;
}

/**
 * From this many rows on, `add` builds an IVF-RQ vector index; below it LanceDB's exact flat scan
 * answers. Measured on this project's 2-core dev VM with 256-dimensional vectors: the flat scan
 * costs about 2 to 3 microseconds a row (10k rows 21 ms, 50k 157 ms, 100k 283 ms a query) while
 * the index answers in 4 to 11 ms at every size, with the true nearest neighbour first for every
 * query tried; at 10k rows the scan costs about as much as embedding the query itself.
 */
export const ANN_THRESHOLD = 10_000;
/** Reciprocal rank fusion's constant: a hit at rank r (from 1) in a list adds 1 / (RRF_K + r). */
export const RRF_K = 60;
const DEFAULT_RERANK_TOP = 20;
/**
 * With a vector index, this many candidates per hit are rescored with the exact vectors, so the
 * order and the scores are exact cosines among them (the index's own distances are approximate).
 */
const REFINE_FACTOR = 10;
/** Rows embedded and written at a time: bounds memory, and fewer, larger fragments scan faster. */
const WRITE_ROWS = 10_000;
const DOCUMENTS = "documents";
const INFO = "index_info";

// A type, not an interface: LanceDB writes it as a record.
type IndexInfo = {
  model: string;
  pooling: Pooling;
  dimensions: number;
  /** The documents table's version this row vouches for. */
  version: number;
};

type LanceDb = typeof import("@lancedb/lancedb");

/** LanceDB, loaded on first use: its native module costs a third of a second to load. */
function lancedb(): Promise<LanceDb> {
  return import("@lancedb/lancedb");
}

/** A LanceDB URI with a scheme (s3://, gs://, db://, ...) rather than a local path. */
function isRemote(uri: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(uri);
}

/**
 * The `k` rows of `matrix` [rows, size] with the largest dot product with `query`, best first:
 * exact search in memory (what retrieval evaluation ranks with), where the index uses LanceDB.
 */
export function nearestRows(
  matrix: Float32Array,
  size: number,
  query: Float32Array,
  k: number,
): { row: number; score: number }[] {
  const rows = matrix.length / size;
  const scores = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let i = 0; i < size; i++) dot += matrix[r * size + i] * query[i];
    scores[r] = dot;
  }
  return topKIndices(scores, k).map((row) => ({ row, score: scores[row] }));
}

/**
 * Fuses ranked lists of corpus positions by reciprocal rank fusion: each position scores the sum
 * of 1 / (RRF_K + rank) over the lists it appears in (ranks from 1); best first, ties in order of
 * first appearance.
 */
export function reciprocalRankFusion(lists: number[][]): { index: number; score: number }[] {
  const scores = new Map<number, number>();
  for (const list of lists) {
    list.forEach((index, rank) => {
      scores.set(index, (scores.get(index) ?? 0) + 1 / (RRF_K + rank + 1));
    });
  }
  return [...scores].map(([index, score]) => ({ index, score })).sort((a, b) => b.score - a.score);
}

export class SemanticSearch {
  private constructor(
    private readonly db: Connection,
    private readonly documents: Table,
    readonly extractor: FeatureExtractionPipeline,
    private readonly reranker: TextRankingPipeline | undefined,
    private info: IndexInfo,
    private rows: number,
    private readonly annThreshold: number,
  ) {}

  /**
   * Embeds `texts` into a new index at `uri` (a folder, created if missing, or a LanceDB URI),
   * replacing any index there. Until it finishes, the index does not open.
   */
  static async build(
    uri: string,
    texts: string[],
    options: BuildOptions = {},
  ): Promise<SemanticSearch> {
    checkTexts(texts);
    const pooling = options.pooling ?? "mean";
    if (!POOLINGS.includes(pooling)) {
      throw new UserError(`pooling must be "mean" or "cls", got ${JSON.stringify(pooling)}`);
    }
    if (!isRemote(uri) && existsSync(uri) && statSync(uri).isFile()) {
      throw new UserError(
        `${uri} is a file; a semantic search index is a folder: give another path`,
      );
    }
    const model = options.model ?? EMBEDDED_MODEL_DIR;
    const { extractor, reranker } = await loadModels(model, options);
    const dimensions = extractor.config.hiddenSize;
    const { connect } = await lancedb();
    const db = await connect(uri);
    // The info table goes first: from here until the build finishes, the index does not open.
    const existing = await db.tableNames();
    if (existing.includes(INFO)) await db.dropTable(INFO);
    if (existing.includes(DOCUMENTS)) await db.dropTable(DOCUMENTS);
    const documents = await db.createEmptyTable(DOCUMENTS, await documentsSchema(dimensions));
    const info = { model, pooling, dimensions, version: await documents.version() };
    const index = new SemanticSearch(
      db,
      documents,
      extractor,
      reranker,
      info,
      0,
      annThreshold(options),
    );
    await index.add(texts, options);
    return index;
  }

  /**
   * Opens the index at `uri` with the model it records (or `options.model`). An index file of
   * the older single-file format is converted into a LanceDB folder at the same path first.
   */
  static async open(uri: string, options: OpenOptions = {}): Promise<SemanticSearch> {
    if (!isRemote(uri)) {
      if (!existsSync(uri)) {
        throw new UserError(
          `there is no semantic search index at ${uri}: build one (SemanticSearch.build, or predict semantic-search with a "corpus")`,
        );
      }
      if (statSync(uri).isFile()) await convertOldIndex(uri, annThreshold(options));
    }
    const { connect } = await lancedb();
    const db = await connect(uri);
    const tables = await db.tableNames();
    if (!tables.includes(INFO)) {
      throw new UserError(
        tables.includes(DOCUMENTS)
          ? `${uri} holds an unfinished semantic search index (its build did not complete): build it again`
          : `${uri} is not a semantic search index`,
      );
    }
    const info = await latestInfo(await db.openTable(INFO));
    const documents = await db.openTable(DOCUMENTS);
    // Rows an interrupted add wrote after this version stay out of sight.
    await documents.checkout(info.version);
    const { extractor, reranker } = await loadModels(options.model ?? info.model, options);
    if (extractor.config.hiddenSize !== info.dimensions) {
      throw new UserError(
        `${uri} holds ${info.dimensions}-dimensional embeddings but the model gives ${extractor.config.hiddenSize}: open it with the model that built it`,
      );
    }
    const rows = await documents.countRows();
    return new SemanticSearch(
      db,
      documents,
      extractor,
      reranker,
      info,
      rows,
      annThreshold(options),
    );
  }

  /** The embedding model (folder or Hub id) the index records. */
  get model(): string {
    return this.info.model;
  }

  get pooling(): Pooling {
    return this.info.pooling;
  }

  /** Texts in the index. */
  get size(): number {
    return this.rows;
  }

  /** Embeds `texts` and appends them to the index; their positions continue from `size`. */
  async add(texts: string[], options: AddOptions = {}): Promise<void> {
    checkTexts(texts);
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    // Start from the last finished version, dropping whatever an interrupted add wrote after it.
    await this.documents.checkout(this.info.version);
    await this.documents.restore();
    for (let first = 0; first < texts.length; first += WRITE_ROWS) {
      const chunk = texts.slice(first, first + WRITE_ROWS);
      const vectors = this.extractor.embedTexts(
        chunk,
        this.info.pooling,
        true,
        batchSize,
        (embedded) => options.onProgress?.(first + embedded, texts.length),
      );
      await appendRows(this.documents, this.rows + first, chunk, vectors);
    }
    const rows = this.rows + texts.length;
    await indexDocuments(this.documents, rows, this.annThreshold);
    this.info = await recordFinished(this.db, this.documents, this.info);
    this.rows = rows;
  }

  /** The `topK` texts that best match `query`, best first. */
  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    if (typeof query !== "string") throw new UserError("search takes a query string");
    const topK = positiveInt("topK", options.topK ?? 5);
    const mode = options.mode ?? "dense";
    if (!SEARCH_MODES.includes(mode)) {
      throw new UserError(
        `search mode must be one of ${SEARCH_MODES.join(", ")}, got ${JSON.stringify(mode)}`,
      );
    }
    if (this.rows === 0) return [];
    const rerankTop = positiveInt("rerankTop", options.rerankTop ?? DEFAULT_RERANK_TOP);
    const depth = this.reranker ? Math.max(topK, rerankTop) : topK;
    let hits: SearchHit[];
    if (mode === "dense") hits = await this.dense(query, depth);
    else if (mode === "bm25") hits = await this.bm25(query, depth);
    else hits = await this.hybrid(query, depth);
    if (this.reranker) hits = this.rerank(this.reranker, query, hits);
    return hits.slice(0, topK);
  }

  /** The texts nearest the query's embedding by cosine similarity. */
  private async dense(query: string, limit: number): Promise<SearchHit[]> {
    const [vector] = this.extractor.embedTexts([query], this.info.pooling, true);
    const found = await this.documents
      .vectorSearch(vector)
      .distanceType("cosine")
      .refineFactor(REFINE_FACTOR)
      .limit(limit)
      .select(["id", "text", "_distance"])
      .toArray();
    return found.map((row) => ({
      index: Number(row.id),
      score: 1 - Number(row._distance),
      text: String(row.text),
    }));
  }

  /** The texts that best match the query's words by BM25. */
  private async bm25(query: string, limit: number): Promise<SearchHit[]> {
    const found = await this.documents
      .query()
      .fullTextSearch(query)
      .limit(limit)
      .select(["id", "text", "_score"])
      .toArray();
    return found.map((row) => ({
      index: Number(row.id),
      score: Number(row._score),
      text: String(row.text),
    }));
  }

  /** The dense and BM25 lists, `limit` deep each, fused by reciprocal rank fusion. */
  private async hybrid(query: string, limit: number): Promise<SearchHit[]> {
    const lists = [await this.dense(query, limit), await this.bm25(query, limit)];
    const texts = new Map(lists.flat().map((hit) => [hit.index, hit.text]));
    return reciprocalRankFusion(lists.map((list) => list.map((hit) => hit.index)))
      .slice(0, limit)
      .map(({ index, score }) => ({ index, score, text: texts.get(index) as string }));
  }

  /** `hits` reordered by the cross-encoder's logits, best first. */
  private rerank(reranker: TextRankingPipeline, query: string, hits: SearchHit[]): SearchHit[] {
    const logits = reranker.scores(
      query,
      hits.map((hit) => hit.text),
    );
    return hits.map((hit, i) => ({ ...hit, score: logits[i] })).sort((a, b) => b.score - a.score);
  }
}

function checkTexts(texts: unknown): asserts texts is string[] {
  if (!Array.isArray(texts) || !texts.every((text) => typeof text === "string")) {
    throw new UserError("semantic search indexes a list of strings");
  }
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new UserError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function annThreshold(options: SemanticSearchOptions): number {
  return positiveInt("annThreshold", options.annThreshold ?? ANN_THRESHOLD);
}

async function loadModels(
  model: string,
  options: SemanticSearchOptions,
): Promise<{ extractor: FeatureExtractionPipeline; reranker: TextRankingPipeline | undefined }> {
  const extractor = createPipeline(
    "feature-extraction",
    await loadForTask("feature-extraction", model, options),
  );
  const reranker =
    options.reranker === undefined
      ? undefined
      : createPipeline(
          "text-ranking",
          await loadForTask("text-ranking", options.reranker, options),
        );
  return { extractor, reranker };
}

/** The documents table's columns, as makeArrowTable infers them from a row (ids are Float64). */
async function documentsSchema(dimensions: number) {
  const { makeArrowTable } = await lancedb();
  return makeArrowTable([{ id: 0, text: "", vector: new Float32Array(dimensions) }]).schema;
}

/** Appends `texts` with their `vectors`, numbered from `firstId`. */
async function appendRows(
  documents: Table,
  firstId: number,
  texts: string[],
  vectors: Float32Array[],
): Promise<void> {
  const { makeArrowTable } = await lancedb();
  const rows = texts.map((text, i) => ({ id: firstId + i, text, vector: vectors[i] }));
  await documents.add(makeArrowTable(rows, { schema: await documents.schema() }));
}

/** (Re)builds the full-text index, and the vector index once the table has `annThreshold` rows. */
async function indexDocuments(documents: Table, rows: number, annThreshold: number) {
  if (rows === 0) return;
  const { Index } = await lancedb();
  await documents.createIndex("text", { config: Index.fts(), replace: true });
  if (rows >= annThreshold) {
    await documents.createIndex("vector", {
      config: Index.ivfRq({ distanceType: "cosine" }),
      replace: true,
    });
  }
}

/**
 * Appends the info row vouching for the documents table's current version; written last, it is
 * what makes a write count. Returns the row.
 */
async function recordFinished(
  db: Connection,
  documents: Table,
  info: Omit<IndexInfo, "version">,
): Promise<IndexInfo> {
  const finished: IndexInfo = { ...info, version: await documents.version() };
  if ((await db.tableNames()).includes(INFO)) {
    await (await db.openTable(INFO)).add([finished]);
  } else {
    await db.createTable(INFO, [finished]);
  }
  return finished;
}

/** The info row with the highest version: the last write that finished. */
async function latestInfo(table: Table): Promise<IndexInfo> {
  const rows = await table.query().toArray();
  const last = rows.reduce((a, b) => (Number(b.version) > Number(a.version) ? b : a));
  return {
    model: String(last.model),
    pooling: String(last.pooling) as Pooling,
    dimensions: Number(last.dimensions),
    version: Number(last.version),
  };
}

/**
 * Converts an index file saved by earlier versions (one safetensors file: the embeddings, the
 * texts, the model and the pooling) into a LanceDB folder at the same path, keeping the file
 * beside it as PATH.old-format. The folder is built aside and moved in place once complete.
 */
async function convertOldIndex(path: string, annThreshold: number): Promise<void> {
  const file = SafetensorsFile.open(path);
  const { model, pooling, texts } = file.metadata;
  if (
    model === undefined ||
    pooling === undefined ||
    texts === undefined ||
    !file.has("embeddings")
  ) {
    throw new UserError(`${path} is not a semantic search index`);
  }
  const [rows, dimensions] = file.info("embeddings").shape;
  const corpus = JSON.parse(texts) as string[];
  if (corpus.length !== rows) {
    throw new UserError(`${path} has ${rows} embeddings for ${corpus.length} texts`);
  }
  const kept = `${path}.old-format`;
  if (existsSync(kept)) {
    throw new UserError(
      `${path} is a semantic search index in the old single-file format; converting it moves it to ${kept}, which exists: move that away`,
    );
  }
  const staging = `${path}.converting`;
  rmSync(staging, { recursive: true, force: true });
  const { connect } = await lancedb();
  const db = await connect(staging);
  const documents = await db.createEmptyTable(DOCUMENTS, await documentsSchema(dimensions));
  const embeddings = file.float32("embeddings");
  for (let first = 0; first < rows; first += WRITE_ROWS) {
    const chunk = corpus.slice(first, first + WRITE_ROWS);
    const vectors = chunk.map((_, i) =>
      embeddings.slice((first + i) * dimensions, (first + i + 1) * dimensions),
    );
    await appendRows(documents, first, chunk, vectors);
  }
  await indexDocuments(documents, rows, annThreshold);
  await recordFinished(db, documents, { model, pooling: pooling as Pooling, dimensions });
  db.close();
  renameSync(path, kept);
  renameSync(staging, path);
  console.warn(
    `distilbert-ts: ${path} was a semantic search index in the old single-file format; it is now a LanceDB index folder at the same path (the old file is kept as ${kept})`,
  );
}
