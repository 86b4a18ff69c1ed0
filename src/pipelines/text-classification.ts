// text-classification / sentiment-analysis: labels and scores for texts or text pairs, as Hugging
// Face's TextClassificationPipeline returns them.

import { UserError } from "../errors.js";
import { DEFAULT_BATCH_SIZE, outputOf, Pipeline } from "./base.js";
import {
  applyClassificationFunction,
  bestLabel,
  type ClassificationFunction,
  defaultClassificationFunction,
  type LabelScore,
  parseClassificationFunction,
  rankLabels,
} from "./classification.js";
import { OptionReader, readTruncation, TRUNCATION_OPTIONS } from "./options.js";

export interface TextPair {
  text: string;
  text_pair: string;
}

export type TextClassificationInput = string | TextPair;

export interface TextClassificationOptions {
  /**
   * Left out: the best label only (a list of one for a single text, as Hugging Face). A number:
   * that many labels, best first, for each input. null: every label.
   */
  top_k?: number | null;
  /** Default: softmax for several labels, sigmoid for one or multi-label, none for regression. */
  function_to_apply?: ClassificationFunction;
  truncation?: boolean | "longest_first" | "only_first" | "only_second";
  max_length?: number;
  batch_size?: number;
}

const OPTIONS = ["top_k", "function_to_apply", "batch_size", ...TRUNCATION_OPTIONS];

export type TextClassificationOutput = LabelScore | LabelScore[];

export class TextClassificationPipeline extends Pipeline {
  async run(
    input: TextClassificationInput,
    options?: TextClassificationOptions,
  ): Promise<TextClassificationOutput>;
  async run(
    inputs: TextClassificationInput[],
    options?: TextClassificationOptions,
  ): Promise<TextClassificationOutput[]>;
  async run(
    inputs: TextClassificationInput | TextClassificationInput[],
    options: TextClassificationOptions = {},
  ): Promise<TextClassificationOutput | TextClassificationOutput[]> {
    const reader = new OptionReader(this.task, options as Record<string, unknown>, OPTIONS);
    const legacy = options.top_k === undefined;
    const topK = reader.intOrNull("top_k", 1);
    const numLabels = this.config.numLabels;
    const fn = reader.has("function_to_apply")
      ? parseClassificationFunction(reader.raw("function_to_apply"))
      : defaultClassificationFunction(this.config.problemType, numLabels);
    const truncation = readTruncation(reader);
    const batchSize = reader.int("batch_size", DEFAULT_BATCH_SIZE);

    const list = Array.isArray(inputs) ? inputs : [inputs];
    const encodings = list.map((input) => {
      const [text, pair] = this.textAndPair(input);
      return this.encode(text, pair, truncation);
    });
    const results: TextClassificationOutput[] = [];
    this.forwardBatches(encodings, batchSize, (outputs, _first, count) => {
      const logits = outputOf(outputs, "logits");
      for (let b = 0; b < count; b++) {
        const scores = applyClassificationFunction(
          logits.subarray(b * numLabels, (b + 1) * numLabels),
          fn,
        );
        results.push(
          legacy
            ? bestLabel(scores, this.config.id2label)
            : rankLabels(scores, this.config.id2label, topK),
        );
      }
    });
    if (Array.isArray(inputs)) return results;
    return this.single(inputs, results[0], options) as TextClassificationOutput;
  }

  override single(input: unknown, output: unknown, options: TextClassificationOptions = {}) {
    // Hugging Face wraps the best label of a single text in a list (not that of a pair).
    return options.top_k === undefined && typeof input === "string"
      ? [output as LabelScore]
      : output;
  }

  private textAndPair(input: TextClassificationInput): [string, string | null] {
    if (typeof input === "string") return [input, null];
    if (
      input !== null &&
      typeof input === "object" &&
      typeof input.text === "string" &&
      (input.text_pair === undefined || typeof input.text_pair === "string")
    ) {
      return [input.text, input.text_pair ?? null];
    }
    throw new UserError(
      `${this.task} takes a string, {"text": ..., "text_pair": ...}, or a list of those; got ${JSON.stringify(input)}`,
    );
  }
}
