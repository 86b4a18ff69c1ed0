// fill-mask: the most likely tokens at each [MASK], as Hugging Face's FillMaskPipeline returns them.

import { UserError } from "../errors.js";
import type { Encoding } from "../tokenizer/index.js";
import { DEFAULT_BATCH_SIZE, outputOf, Pipeline } from "./base.js";
import { softmax, topKIndices } from "./math.js";
import { OptionReader, readTruncation, TRUNCATION_OPTIONS, type Truncation } from "./options.js";

export interface FillMaskOptions {
  /** How many tokens per mask; default 5. */
  top_k?: number;
  /** Score only these words (a word not in the vocabulary counts as its first token). */
  targets?: string | string[];
  batch_size?: number;
  /** As Hugging Face's tokenizer arguments: cut long texts (a [MASK] cut off is an error). */
  truncation?: boolean;
  max_length?: number;
}

export interface FillMaskPrediction {
  score: number;
  token: number;
  token_str: string;
  sequence: string;
}

/** One list of predictions, or one list per mask when the text has several. */
export type FillMaskOutput = FillMaskPrediction[] | FillMaskPrediction[][];

const OPTIONS = ["top_k", "targets", "batch_size", ...TRUNCATION_OPTIONS];

export interface MaskPrediction {
  token: number;
  score: number;
}

/**
 * The `topK` best tokens from one position's logits: a softmax over the whole vocabulary, then,
 * with targets, only the targets' probabilities ranked (so they do not sum to one).
 */
export function predictMask(
  logits: Float32Array,
  offset: number,
  vocabSize: number,
  topK: number,
  targetIds: number[] | null,
): MaskPrediction[] {
  const probs = softmax(logits, offset, vocabSize);
  if (targetIds === null) {
    return topKIndices(probs, topK).map((token) => ({ token, score: probs[token] }));
  }
  const targetProbs = targetIds.map((id) => probs[id]);
  return topKIndices(targetProbs, topK).map((i) => ({
    token: targetIds[i],
    score: targetProbs[i],
  }));
}

export class FillMaskPipeline extends Pipeline {
  async run(text: string, options?: FillMaskOptions): Promise<FillMaskOutput>;
  async run(texts: string[], options?: FillMaskOptions): Promise<FillMaskOutput[]>;
  async run(
    inputs: string | string[],
    options: FillMaskOptions = {},
  ): Promise<FillMaskOutput | FillMaskOutput[]> {
    const reader = new OptionReader("fill-mask", options as Record<string, unknown>, OPTIONS);
    const topK = reader.int("top_k", 5);
    const batchSize = reader.int("batch_size", DEFAULT_BATCH_SIZE);
    const targetIds = reader.has("targets") ? this.targetIds(reader.strings("targets", [])) : null;
    const texts = Array.isArray(inputs) ? inputs : [inputs];
    const truncation = readTruncation(reader);
    const encodings = texts.map((text) => this.encodeMasked(text, truncation));
    const vocabSize = this.config.vocabSize;
    const results: FillMaskOutput[] = [];
    this.forwardBatches(encodings, batchSize, (outputs, first, count, seq) => {
      const logits = outputOf(outputs, "logits");
      for (let b = 0; b < count; b++) {
        const ids = encodings[first + b].ids;
        const masks = ids.flatMap((id, position) =>
          id === this.tokenizer.maskTokenId ? [position] : [],
        );
        const single = masks.length === 1;
        const perMask = masks.map((position) =>
          predictMask(logits, (b * seq + position) * vocabSize, vocabSize, topK, targetIds).map(
            ({ token, score }) => {
              const filled = ids.slice();
              filled[position] = token;
              return {
                score,
                token,
                token_str: this.tokenizer.decode([token]),
                // With several masks the others stay visible, so special tokens are kept.
                sequence: this.tokenizer.decode(filled, { skipSpecialTokens: single }),
              };
            },
          ),
        );
        results.push(single ? perMask[0] : perMask);
      }
    });
    return Array.isArray(inputs) ? results : results[0];
  }

  private encodeMasked(text: string, truncation: Truncation): Encoding {
    if (typeof text !== "string") {
      throw new UserError(
        `fill-mask takes a string or a list of strings, got ${JSON.stringify(text)}`,
      );
    }
    const encoding = this.tokenizer.encode(text, null, {
      truncation: truncation.truncation,
      maxLength: truncation.maxLength,
    });
    if (!encoding.ids.includes(this.tokenizer.maskTokenId)) {
      const mask = this.tokenizer.maskToken;
      if (truncation.truncation && text.includes(mask)) {
        throw new UserError(
          `every ${mask} of the text lies past the ${encoding.ids.length} tokens truncation keeps: move it nearer the start, or raise max_length`,
        );
      }
      throw new UserError(
        `no ${mask} in ${JSON.stringify(text.slice(0, 200))}: fill-mask predicts the word at each ${mask}, e.g. "The ${mask} of the United States"`,
      );
    }
    this.checkLength(encoding);
    return encoding;
  }

  /** Each target's id (its first token when it is not one whole token), each once. */
  private targetIds(targets: string[]): number[] {
    const ids: number[] = [];
    for (const target of targets) {
      let id = this.tokenizer.tokenToId(target);
      if (id === undefined) {
        const pieces = this.tokenizer.encode(target, null, { addSpecialTokens: false });
        id = pieces.ids[0];
        // As Hugging Face warns: the score is that of the first piece only.
        if (id !== undefined) {
          console.warn(
            `distilbert-ts: the target ${JSON.stringify(target)} is not in the vocabulary; scoring its first token ${JSON.stringify(pieces.tokens[0])} instead`,
          );
        }
      }
      if (id !== undefined && !ids.includes(id)) ids.push(id);
    }
    if (ids.length === 0) {
      throw new UserError(
        `none of the targets ${JSON.stringify(targets)} gives a token: pass words to score`,
      );
    }
    return ids;
  }
}
