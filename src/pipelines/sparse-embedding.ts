// sparse-embedding: SPLADE vectors from a masked-language model, as text-embeddings-inference's
// /embed_sparse returns them. For a text and each vocabulary entry v,
//
//   w[v] = max over the text's tokens t of log(1 + ReLU(logits[t, v]))
//
// over every token the model attends to (the special tokens included, padding not), as SPLADE
// and sentence-transformers' SpladePooling compute it. Only the non-zero weights are returned,
// as [{index: v, value: w[v]}] sorted by v.

import { UserError } from "../errors.js";
import { DEFAULT_BATCH_SIZE, outputOf, Pipeline } from "./base.js";
import { OptionReader, readTruncation, TRUNCATION_OPTIONS } from "./options.js";

export interface SparseEmbeddingOptions {
  truncation?: boolean;
  max_length?: number;
  batch_size?: number;
}

/** One non-zero weight: the vocabulary entry and its weight. */
export interface SparseValue {
  index: number;
  value: number;
}

const OPTIONS = ["batch_size", ...TRUNCATION_OPTIONS];

/**
 * The SPLADE weights of one text from its logits [tokens, vocab] starting at `offset`, over the
 * tokens its attention mask keeps. Since log(1 + ReLU(x)) grows with x, the maximum over tokens
 * is taken on the logits first (from 0, ReLU's floor).
 */
export function spladeWeights(
  logits: Float32Array,
  offset: number,
  attentionMask: ArrayLike<number>,
  vocabSize: number,
): SparseValue[] {
  const max = new Float32Array(vocabSize);
  for (let t = 0; t < attentionMask.length; t++) {
    if (attentionMask[t] === 0) continue;
    const row = offset + t * vocabSize;
    for (let v = 0; v < vocabSize; v++) max[v] = Math.max(max[v], logits[row + v]);
  }
  const weights: SparseValue[] = [];
  for (let v = 0; v < vocabSize; v++) {
    if (max[v] > 0) weights.push({ index: v, value: Math.log1p(max[v]) });
  }
  return weights;
}

export class SparseEmbeddingPipeline extends Pipeline {
  async run(text: string, options?: SparseEmbeddingOptions): Promise<SparseValue[]>;
  async run(texts: string[], options?: SparseEmbeddingOptions): Promise<SparseValue[][]>;
  async run(
    inputs: string | string[],
    options: SparseEmbeddingOptions = {},
  ): Promise<SparseValue[] | SparseValue[][]> {
    const reader = new OptionReader(this.task, options as Record<string, unknown>, OPTIONS);
    const truncation = readTruncation(reader);
    const batchSize = reader.int("batch_size", DEFAULT_BATCH_SIZE);
    const texts = Array.isArray(inputs) ? inputs : [inputs];
    const encodings = texts.map((text) => {
      if (typeof text !== "string") {
        throw new UserError(
          `${this.task} takes a string or a list of strings, got ${JSON.stringify(text)}`,
        );
      }
      return this.encode(text, null, truncation);
    });
    const vocabSize = this.config.vocabSize;
    const results: SparseValue[][] = [];
    this.forwardBatches(encodings, batchSize, (outputs, first, count, seq) => {
      const logits = outputOf(outputs, "logits");
      for (let b = 0; b < count; b++) {
        const mask = encodings[first + b].attentionMask;
        results.push(spladeWeights(logits, b * seq * vocabSize, mask, vocabSize));
      }
    });
    return Array.isArray(inputs) ? results : results[0];
  }
}
