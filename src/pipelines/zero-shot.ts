// zero-shot-classification: any labels, scored by a natural-language-inference model on
// "text entails <hypothesis about the label>", as Hugging Face's ZeroShotClassificationPipeline.

import { UserError } from "../errors.js";
import type { Encoding } from "../tokenizer/index.js";
import { DEFAULT_BATCH_SIZE, outputOf, Pipeline } from "./base.js";
import { findEntailmentId, hypothesisFor, zeroShotScores } from "./nli.js";
import { OptionReader } from "./options.js";

export interface ZeroShotOptions {
  /** The labels to choose from: a list, or one string of comma-separated labels. */
  candidate_labels: string | string[];
  /** "{}" is replaced by each label; default "This example is {}.". */
  hypothesis_template?: string;
  /** Score each label on its own (several may be true) instead of sharing one softmax. */
  multi_label?: boolean;
  batch_size?: number;
}

export interface ZeroShotOutput {
  sequence: string;
  labels: string[];
  scores: number[];
}

const OPTIONS = ["candidate_labels", "hypothesis_template", "multi_label", "batch_size"];

export class ZeroShotClassificationPipeline extends Pipeline {
  async run(text: string, options: ZeroShotOptions): Promise<ZeroShotOutput>;
  async run(texts: string[], options: ZeroShotOptions): Promise<ZeroShotOutput[]>;
  async run(
    inputs: string | string[],
    options: ZeroShotOptions,
  ): Promise<ZeroShotOutput | ZeroShotOutput[]> {
    const reader = new OptionReader(
      this.task,
      (options ?? {}) as unknown as Record<string, unknown>,
      OPTIONS,
    );
    const labels = candidateLabels(reader.raw("candidate_labels"));
    const template = reader.string("hypothesis_template", "This example is {}.");
    if (!template.includes("{}")) {
      throw new UserError(
        `hypothesis_template ${JSON.stringify(template)} has no "{}" where the label goes, e.g. "This example is {}."`,
      );
    }
    const multiLabel = reader.bool("multi_label", false);
    const batchSize = reader.int("batch_size", DEFAULT_BATCH_SIZE);
    const texts = Array.isArray(inputs) ? inputs : [inputs];
    if (texts.length === 0 || texts.some((text) => typeof text !== "string")) {
      throw new UserError(`${this.task} takes a string or a non-empty list of strings`);
    }
    const numLabels = this.config.numLabels;
    const entailmentId = findEntailmentId(this.config.label2id);
    // Truncate only the text, to what the model reads: the hypothesis must stay whole.
    const maxLength = Math.min(this.tokenizer.modelMaxLength, this.config.maxPositionEmbeddings);
    const pairs: Encoding[] = [];
    for (const text of texts) {
      for (const label of labels) {
        const encoding = this.tokenizer.encode(text, hypothesisFor(template, label), {
          truncation: "only_first",
          maxLength,
        });
        this.checkLength(encoding);
        pairs.push(encoding);
      }
    }
    const logits = new Float32Array(pairs.length * numLabels);
    this.forwardBatches(pairs, batchSize, (outputs, first, count) => {
      logits.set(outputOf(outputs, "logits").subarray(0, count * numLabels), first * numLabels);
    });
    const results = texts.map((sequence, i) => {
      const perLabel = logits.subarray(
        i * labels.length * numLabels,
        (i + 1) * labels.length * numLabels,
      );
      const scores = zeroShotScores(perLabel, labels.length, numLabels, entailmentId, multiLabel);
      const order = scores.map((_, j) => j).sort((a, b) => scores[b] - scores[a]);
      return { sequence, labels: order.map((j) => labels[j]), scores: order.map((j) => scores[j]) };
    });
    return Array.isArray(inputs) ? results : results[0];
  }
}

function candidateLabels(value: unknown): string[] {
  const labels =
    typeof value === "string"
      ? value
          .split(",")
          .map((label) => label.trim())
          .filter((label) => label.length > 0)
      : value;
  if (
    !Array.isArray(labels) ||
    labels.length === 0 ||
    !labels.every((label) => typeof label === "string")
  ) {
    throw new UserError(
      `zero-shot-classification needs candidate_labels: a list of labels, e.g. {"candidate_labels": ["politics", "sports"]}`,
    );
  }
  return labels;
}
