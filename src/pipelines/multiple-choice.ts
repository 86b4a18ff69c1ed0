// multiple-choice: which of several endings or answers fits a question best, through a
// ...ForMultipleChoice head (Hugging Face has the head but no pipeline). Scores are the softmax
// over the choices, in the order given.

import { UserError } from "../errors.js";
import type { Encoding } from "../tokenizer/index.js";
import { DEFAULT_BATCH_SIZE, outputOf, Pipeline, packEncodings } from "./base.js";
import { argmax, softmax } from "./math.js";
import { OptionReader, readTruncation, TRUNCATION_OPTIONS } from "./options.js";

export interface MultipleChoiceInput {
  question: string;
  choices: string[];
}

export interface MultipleChoiceOptions {
  truncation?: boolean | "longest_first" | "only_first" | "only_second";
  max_length?: number;
  batch_size?: number;
}

export interface MultipleChoiceOutput {
  /** The best choice and its position in `choices`. */
  answer: string;
  index: number;
  /** One per choice, in the order given; they sum to 1. */
  scores: number[];
}

const OPTIONS = ["batch_size", ...TRUNCATION_OPTIONS];

export class MultipleChoicePipeline extends Pipeline {
  async run(
    input: MultipleChoiceInput,
    options?: MultipleChoiceOptions,
  ): Promise<MultipleChoiceOutput>;
  async run(
    inputs: MultipleChoiceInput[],
    options?: MultipleChoiceOptions,
  ): Promise<MultipleChoiceOutput[]>;
  async run(
    inputs: MultipleChoiceInput | MultipleChoiceInput[],
    options: MultipleChoiceOptions = {},
  ): Promise<MultipleChoiceOutput | MultipleChoiceOutput[]> {
    const reader = new OptionReader(this.task, options as Record<string, unknown>, OPTIONS);
    const truncation = readTruncation(reader);
    const batchSize = reader.int("batch_size", DEFAULT_BATCH_SIZE);
    const examples = Array.isArray(inputs) ? inputs : [inputs];
    const encoded = examples.map((example) => {
      this.check(example);
      return example.choices.map((choice) => this.encode(example.question, choice, truncation));
    });
    const results: MultipleChoiceOutput[] = [];
    // A batch holds examples with the same number of choices: the head reads [batch, choices, seq].
    let first = 0;
    while (first < examples.length) {
      const choices = examples[first].choices.length;
      let end = first + 1;
      while (
        end < examples.length &&
        end - first < batchSize &&
        examples[end].choices.length === choices
      )
        end++;
      results.push(
        ...this.score(examples.slice(first, end), encoded.slice(first, end).flat(), choices),
      );
      first = end;
    }
    return Array.isArray(inputs) ? results : results[0];
  }

  private score(
    examples: MultipleChoiceInput[],
    encodings: Encoding[],
    choices: number,
  ): MultipleChoiceOutput[] {
    const packed = packEncodings(encodings, this.tokenizer.padTokenId);
    const outputs = this.model.forward({
      inputIds: packed.inputIds,
      attentionMask: packed.attentionMask,
      tokenTypeIds: this.config.typeVocabSize > 0 ? packed.tokenTypeIds : undefined,
      batch: examples.length,
      seq: packed.seq,
      choices,
    });
    const logits = outputOf(outputs, "logits");
    return examples.map((example, b) => {
      const scores = softmax(logits, b * choices, choices);
      const index = argmax(scores);
      return { answer: example.choices[index], index, scores };
    });
  }

  private check(example: MultipleChoiceInput): void {
    if (
      example === null ||
      typeof example !== "object" ||
      typeof example.question !== "string" ||
      !Array.isArray(example.choices) ||
      example.choices.length === 0 ||
      !example.choices.every((choice) => typeof choice === "string")
    ) {
      throw new UserError(
        `multiple-choice takes {"question": "...", "choices": ["...", ...]} (or a list of those), got ${JSON.stringify(example)}`,
      );
    }
  }
}
