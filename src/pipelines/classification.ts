// Scores from sequence-classification logits, as Hugging Face's text-classification pipeline
// gives them: the function to apply (chosen from the problem type and label count when not
// given) and the ranking of labels.

import { UserError } from "../errors.js";
import type { ProblemType } from "../io/config.js";
import { argmax, sigmoid, softmax } from "./math.js";

export type ClassificationFunction = "softmax" | "sigmoid" | "none";

export const CLASSIFICATION_FUNCTIONS: readonly ClassificationFunction[] = [
  "softmax",
  "sigmoid",
  "none",
];

export interface LabelScore {
  label: string;
  score: number;
}

/** Regression: none; multi-label or a single label: sigmoid; several labels: softmax. */
export function defaultClassificationFunction(
  problemType: ProblemType | null,
  numLabels: number,
): ClassificationFunction {
  if (problemType === "regression") return "none";
  if (problemType === "multi_label_classification" || numLabels === 1) return "sigmoid";
  return "softmax";
}

export function parseClassificationFunction(value: unknown): ClassificationFunction {
  if (CLASSIFICATION_FUNCTIONS.includes(value as ClassificationFunction)) {
    return value as ClassificationFunction;
  }
  throw new UserError(
    `function_to_apply must be one of ${CLASSIFICATION_FUNCTIONS.map((f) => `"${f}"`).join(", ")}, got ${JSON.stringify(value)}`,
  );
}

export function applyClassificationFunction(
  logits: ArrayLike<number>,
  fn: ClassificationFunction,
): number[] {
  if (fn === "softmax") return softmax(logits);
  if (fn === "sigmoid") return sigmoid(logits);
  return Array.from(logits);
}

export function labelOf(id2label: Record<number, string>, id: number): string {
  return id2label[id] ?? `LABEL_${id}`;
}

/** The best label alone (`top_k` not given: Hugging Face's legacy form). */
export function bestLabel(scores: number[], id2label: Record<number, string>): LabelScore {
  const best = argmax(scores);
  return { label: labelOf(id2label, best), score: scores[best] };
}

/** Labels by score, highest first, cut to `topK` (null: all of them). */
export function rankLabels(
  scores: number[],
  id2label: Record<number, string>,
  topK: number | null,
): LabelScore[] {
  const ranked = scores.map((score, id) => ({ label: labelOf(id2label, id), score }));
  ranked.sort((a, b) => b.score - a.score);
  return topK === null ? ranked : ranked.slice(0, topK);
}
