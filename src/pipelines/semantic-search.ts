// Semantic search: embed a corpus once (pooled, unit-length vectors), keep it in a safetensors
// file written atomically, and find the texts closest to a query by cosine similarity.

import { UserError } from "../errors.js";
import { SafetensorsFile, writeSafetensors } from "../io/safetensors.js";
import { DEFAULT_BATCH_SIZE } from "./base.js";
import type { FeatureExtractionPipeline } from "./feature-extraction.js";
import { EMBEDDED_MODEL_DIR, loadForTask, type PipelineLoadOptions } from "./load.js";
import { topKIndices } from "./math.js";
import { POOLINGS, type Pooling } from "./pooling.js";
import { createPipeline } from "./tasks.js";

export interface SearchHit {
  /** Position of the text in the corpus. */
  index: number;
  /** Cosine similarity to the query, in [-1, 1]. */
  score: number;
  text: string;
}

export interface SemanticSearchOptions extends PipelineLoadOptions {
  /** How a text's tokens become one vector; default "mean". */
  pooling?: Pooling;
}

/** The `k` rows of `matrix` [rows, size] with the largest dot product with `query`, best first. */
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

export class SemanticSearch {
  private texts: string[] = [];
  private vectors = new Float32Array(0);

  private constructor(
    readonly extractor: FeatureExtractionPipeline,
    /** The model folder or Hub id, recorded in saved indexes. */
    readonly model: string,
    readonly pooling: Pooling,
  ) {}

  /** An empty index over `model`'s embeddings (default: the embedded teacher). */
  static async create(
    model: string = EMBEDDED_MODEL_DIR,
    options: SemanticSearchOptions = {},
  ): Promise<SemanticSearch> {
    const pooling = options.pooling ?? "mean";
    if (!POOLINGS.includes(pooling)) {
      throw new UserError(`pooling must be "mean" or "cls", got ${JSON.stringify(pooling)}`);
    }
    const extractor = createPipeline(
      "feature-extraction",
      await loadForTask("feature-extraction", model, options),
    );
    return new SemanticSearch(extractor, model, pooling);
  }

  /** Reads an index saved by `save`, with the model it names (or `options.model`). */
  static async load(
    path: string,
    options: SemanticSearchOptions & { model?: string } = {},
  ): Promise<SemanticSearch> {
    const file = SafetensorsFile.open(path);
    const { model, pooling, texts } = file.metadata;
    if (
      model === undefined ||
      pooling === undefined ||
      texts === undefined ||
      !file.has("embeddings")
    ) {
      throw new UserError(`${path} is not a semantic search index (saved by SemanticSearch.save)`);
    }
    const index = await SemanticSearch.create(options.model ?? model, {
      ...options,
      pooling: pooling as Pooling,
    });
    const [rows, size] = file.info("embeddings").shape;
    if (size !== index.extractor.config.hiddenSize) {
      throw new UserError(
        `${path} holds ${size}-dimensional embeddings but the model gives ${index.extractor.config.hiddenSize}: load it with the model that built it`,
      );
    }
    index.texts = JSON.parse(texts) as string[];
    index.vectors = file.float32("embeddings").slice();
    if (index.texts.length !== rows)
      throw new UserError(`${path} has ${rows} embeddings for ${index.texts.length} texts`);
    return index;
  }

  get size(): number {
    return this.texts.length;
  }

  /** Embeds `texts` and appends them to the corpus. */
  add(texts: string[], batchSize = DEFAULT_BATCH_SIZE): void {
    if (!Array.isArray(texts) || !texts.every((text) => typeof text === "string")) {
      throw new UserError("SemanticSearch.add takes a list of strings");
    }
    const added = this.extractor.embedTexts(texts, this.pooling, true, batchSize);
    const size = this.extractor.config.hiddenSize;
    const vectors = new Float32Array(this.vectors.length + added.length * size);
    vectors.set(this.vectors);
    added.forEach((vector, i) => {
      vectors.set(vector, this.vectors.length + i * size);
    });
    this.vectors = vectors;
    this.texts.push(...texts);
  }

  /** The `topK` corpus texts most similar to `query`, best first. */
  search(query: string, topK = 5): SearchHit[] {
    if (typeof query !== "string") throw new UserError("search takes a query string");
    const [vector] = this.extractor.embedTexts([query], this.pooling, true);
    return nearestRows(this.vectors, this.extractor.config.hiddenSize, vector, topK).map(
      ({ row, score }) => ({
        index: row,
        score,
        text: this.texts[row],
      }),
    );
  }

  /** Writes the index (embeddings, texts, model and pooling) to one file, atomically. */
  save(path: string): void {
    const size = this.extractor.config.hiddenSize;
    writeSafetensors(
      path,
      { embeddings: { dtype: "F32", shape: [this.texts.length, size], data: this.vectors } },
      { model: this.model, pooling: this.pooling, texts: JSON.stringify(this.texts) },
    );
  }
}
