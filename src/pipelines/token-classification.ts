// token-classification / ner: a label per token, or entities grouped over words, as Hugging Face's
// TokenClassificationPipeline returns them; start/end are UTF-16 offsets (`text.slice(start, end)`).

import { UserError } from "../errors.js";
import { decodeTokens } from "../tokenizer/decode.js";
import { DEFAULT_BATCH_SIZE, outputOf, Pipeline } from "./base.js";
import {
  type AggregationStrategy,
  aggregateEntities,
  type EntityGroup,
  gatherPreEntities,
  parseAggregationStrategy,
  type TokenEntity,
  type TokenRow,
} from "./entities.js";
import { softmax } from "./math.js";
import { OptionReader, readTruncation, TRUNCATION_OPTIONS } from "./options.js";

export interface TokenClassificationOptions {
  /** Default "none": one entry per token. */
  aggregation_strategy?: AggregationStrategy;
  /** Labels left out of the output; default ["O"]. */
  ignore_labels?: string[];
  /** Default: cut to the tokenizer's model_max_length when it sets one, as Hugging Face. */
  truncation?: boolean;
  max_length?: number;
  batch_size?: number;
}

const OPTIONS = ["aggregation_strategy", "ignore_labels", "batch_size", ...TRUNCATION_OPTIONS];

export type TokenClassificationOutput = TokenEntity[] | EntityGroup[];

export class TokenClassificationPipeline extends Pipeline {
  async run(text: string, options?: TokenClassificationOptions): Promise<TokenClassificationOutput>;
  async run(
    texts: string[],
    options?: TokenClassificationOptions,
  ): Promise<TokenClassificationOutput[]>;
  async run(
    inputs: string | string[],
    options: TokenClassificationOptions = {},
  ): Promise<TokenClassificationOutput | TokenClassificationOutput[]> {
    const reader = new OptionReader(this.task, options as Record<string, unknown>, OPTIONS);
    const strategy = parseAggregationStrategy(reader.raw("aggregation_strategy") ?? "none");
    const ignoreLabels = reader.strings("ignore_labels", ["O"]);
    const truncation = readTruncation(reader);
    // Hugging Face cuts inputs to the tokenizer's model_max_length here when it has one.
    if (truncation.truncation === undefined && Number.isFinite(this.tokenizer.modelMaxLength)) {
      truncation.truncation = true;
    }
    const batchSize = reader.int("batch_size", DEFAULT_BATCH_SIZE);
    const texts = Array.isArray(inputs) ? inputs : [inputs];
    for (const text of texts) {
      if (typeof text !== "string") {
        throw new UserError(
          `${this.task} takes a string or a list of strings, got ${JSON.stringify(text)}`,
        );
      }
    }
    const encodings = texts.map((text) => this.encode(text, null, truncation));
    const numLabels = this.config.numLabels;
    const decoder = this.tokenizer.spec.decoder;
    const context = {
      id2label: this.config.id2label,
      tokensToString: (tokens: string[]) =>
        decoder ? decodeTokens(tokens, decoder) : tokens.join(" "),
    };
    const results: TokenClassificationOutput[] = [];
    this.forwardBatches(encodings, batchSize, (outputs, first, count, seq) => {
      const logits = outputOf(outputs, "logits");
      for (let b = 0; b < count; b++) {
        const encoding = encodings[first + b];
        const rows: TokenRow[] = encoding.ids.map((id, t) => ({
          id,
          token: encoding.tokens[t],
          start: encoding.offsets[t][0],
          end: encoding.offsets[t][1],
          special: encoding.specialTokensMask[t] === 1,
          scores: softmax(logits, (b * seq + t) * numLabels, numLabels),
        }));
        const pre = gatherPreEntities(texts[first + b], rows, this.tokenizer.unkTokenId);
        results.push(aggregateEntities(pre, strategy, ignoreLabels, context));
      }
    });
    return Array.isArray(inputs) ? results : results[0];
  }
}
