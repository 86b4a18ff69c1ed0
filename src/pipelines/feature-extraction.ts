// feature-extraction: the model's last hidden states, as Hugging Face returns them ([1][tokens]
// [hidden] per text), or one pooled vector per text (mean or [CLS]), optionally unit length.

import { UserError } from "../errors.js";
import { POOLINGS, type Pooling, pool } from "../models/pooling.js";
import type { Encoding } from "../tokenizer/index.js";
import { DEFAULT_BATCH_SIZE, Pipeline } from "./base.js";
import { normalizeL2 } from "./math.js";
import { OptionReader, readTruncation, TRUNCATION_OPTIONS, type Truncation } from "./options.js";

export interface FeatureExtractionOptions {
  /** Pool the tokens into one vector per text. */
  pooling?: Pooling;
  /** Scale each returned vector to unit length. */
  normalize?: boolean;
  truncation?: boolean;
  max_length?: number;
  batch_size?: number;
}

const OPTIONS = ["pooling", "normalize", "batch_size", ...TRUNCATION_OPTIONS];

/** [1][tokens][hidden] without pooling; [hidden] with it. */
export type FeatureExtractionOutput = number[][][] | number[];

export class FeatureExtractionPipeline extends Pipeline {
  async run(text: string, options?: FeatureExtractionOptions): Promise<FeatureExtractionOutput>;
  async run(
    texts: string[],
    options?: FeatureExtractionOptions,
  ): Promise<FeatureExtractionOutput[]>;
  async run(
    inputs: string | string[],
    options: FeatureExtractionOptions = {},
  ): Promise<FeatureExtractionOutput | FeatureExtractionOutput[]> {
    const reader = new OptionReader(this.task, options as Record<string, unknown>, OPTIONS);
    // A sentence-transformers folder embeds as sentence-transformers does by default: its pooling,
    // its normalisation, inputs cut to its max_seq_length.
    const folder = this.sentenceEmbedding;
    const pooling = reader.has("pooling")
      ? this.pooling(reader.raw("pooling"))
      : (folder?.pooling ?? null);
    const normalize = reader.bool("normalize", folder?.normalize ?? false);
    const batchSize = reader.int("batch_size", DEFAULT_BATCH_SIZE);
    const asked = readTruncation(reader);
    const truncation: Truncation =
      folder && asked.truncation === undefined && asked.maxLength === undefined
        ? { truncation: true, maxLength: this.readableLength() }
        : asked;
    const texts = Array.isArray(inputs) ? inputs : [inputs];
    const results: FeatureExtractionOutput[] = [];
    if (pooling) {
      for (const vector of this.embedEncodings(
        this.encodeAll(texts, truncation),
        pooling,
        normalize,
        batchSize,
      )) {
        results.push(Array.from(vector));
      }
    } else {
      for (const states of this.tokenStates(texts, normalize, batchSize, truncation)) {
        results.push([states.map((vector) => Array.from(vector))]);
      }
    }
    return Array.isArray(inputs) ? results : results[0];
  }

  /**
   * One pooled vector per text, as Float32Arrays (what semantic search stores); long texts are
   * cut to what the model reads, with a warning on stderr. `onBatch` hears how many texts are
   * embedded so far, after each batch (a large corpus takes a while).
   */
  embedTexts(
    texts: string[],
    pooling: Pooling,
    normalize: boolean,
    batchSize = DEFAULT_BATCH_SIZE,
    onBatch?: (embedded: number) => void,
  ): Float32Array[] {
    const maxLength = this.readableLength();
    const encodings = this.encodeAll(texts, { truncation: true, maxLength });
    const cut = encodings.filter((encoding) => encoding.truncated).length;
    // A sentence-transformers folder's max_seq_length is its choice, cut silently as there.
    if (cut > 0 && !this.sentenceEmbedding?.maxSeqLength) {
      console.warn(
        `distilbert-ts: ${cut} of ${texts.length} texts are longer than the ${maxLength} tokens this model reads; only their first ${maxLength} tokens are embedded`,
      );
    }
    return this.embedEncodings(encodings, pooling, normalize, batchSize, onBatch);
  }

  /** Tokens a text is cut to: what the model reads, or a sentence-transformers folder's length. */
  private readableLength(): number {
    return Math.min(
      this.tokenizer.modelMaxLength,
      this.config.maxPositionEmbeddings,
      this.sentenceEmbedding?.maxSeqLength ?? Number.POSITIVE_INFINITY,
    );
  }

  private embedEncodings(
    encodings: Encoding[],
    pooling: Pooling,
    normalize: boolean,
    batchSize: number,
    onBatch?: (embedded: number) => void,
  ): Float32Array[] {
    const size = this.config.hiddenSize;
    const vectors: Float32Array[] = [];
    this.forwardBatches(encodings, batchSize, (outputs, first, count, seq) => {
      for (let b = 0; b < count; b++) {
        const mask = encodings[first + b].attentionMask;
        const vector = pool(pooling, outputs.lastHiddenState, b * seq * size, mask, size);
        if (normalize) normalizeL2(vector);
        vectors.push(vector);
      }
      onBatch?.(first + count);
    });
    return vectors;
  }

  private tokenStates(
    texts: string[],
    normalize: boolean,
    batchSize: number,
    truncation: Truncation,
  ): Float32Array[][] {
    const encodings = this.encodeAll(texts, truncation);
    const size = this.config.hiddenSize;
    const states: Float32Array[][] = [];
    this.forwardBatches(encodings, batchSize, (outputs, first, count, seq) => {
      for (let b = 0; b < count; b++) {
        const tokens: Float32Array[] = [];
        for (let t = 0; t < encodings[first + b].ids.length; t++) {
          const at = (b * seq + t) * size;
          const vector = outputs.lastHiddenState.slice(at, at + size);
          if (normalize) normalizeL2(vector);
          tokens.push(vector);
        }
        states.push(tokens);
      }
    });
    return states;
  }

  private encodeAll(texts: string[], truncation: Truncation) {
    return texts.map((text) => {
      if (typeof text !== "string") {
        throw new UserError(
          `${this.task} takes a string or a list of strings, got ${JSON.stringify(text)}`,
        );
      }
      return this.encode(text, null, truncation);
    });
  }

  private pooling(value: unknown): Pooling {
    if (POOLINGS.includes(value as Pooling)) return value as Pooling;
    throw new UserError(`pooling must be "mean" or "cls", got ${JSON.stringify(value)}`);
  }
}
