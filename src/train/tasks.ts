// The fine-tuning tasks: which head each trains, which fields it reads by default, and which
// metric it is judged by.

import type { ModelConfig } from "../io/config-format.js";
import type { HeadKind } from "../models/types.js";
import type { LabelSet } from "./labels.js";

export type TaskKind =
  | "text-classification"
  | "token-classification"
  | "question-answering"
  | "multiple-choice"
  | "regression";

export const TASK_KINDS: readonly TaskKind[] = [
  "text-classification",
  "token-classification",
  "question-answering",
  "multiple-choice",
  "regression",
];

export interface Fields {
  /** The text (or the words, or the question). */
  text: string;
  /** The second text of a pair (or the QA context, or the multiple-choice choices). */
  pair: string | null;
  /** The label (or word labels, or QA answers). */
  label: string;
}

export interface TaskInfo {
  head: HeadKind;
  /** Appended to BertFor / DistilBertFor in config.json's architectures. */
  architecture: string;
  defaultFields: Fields;
  metrics: readonly string[];
  /** The metric that picks the best checkpoint by default. */
  defaultMetric: string;
}

export const TASKS: Record<TaskKind, TaskInfo> = {
  "text-classification": {
    head: "sequence-classification",
    architecture: "SequenceClassification",
    defaultFields: { text: "text", pair: null, label: "label" },
    metrics: ["accuracy", "f1", "f1_macro", "mcc", "loss"],
    defaultMetric: "accuracy",
  },
  regression: {
    head: "sequence-classification",
    architecture: "SequenceClassification",
    defaultFields: { text: "text", pair: null, label: "label" },
    metrics: ["pearson", "spearman", "mse", "loss"],
    defaultMetric: "pearson",
  },
  "token-classification": {
    head: "token-classification",
    architecture: "TokenClassification",
    defaultFields: { text: "tokens", pair: null, label: "ner_tags" },
    metrics: ["f1", "precision", "recall", "accuracy", "loss"],
    defaultMetric: "f1",
  },
  "question-answering": {
    head: "question-answering",
    architecture: "QuestionAnswering",
    defaultFields: { text: "question", pair: "context", label: "answers" },
    metrics: ["f1", "exact_match", "loss"],
    defaultMetric: "f1",
  },
  "multiple-choice": {
    head: "multiple-choice",
    architecture: "MultipleChoice",
    defaultFields: { text: "question", pair: "choices", label: "label" },
    metrics: ["accuracy", "loss"],
    defaultMetric: "accuracy",
  },
};

/** Loss is better lower; every other metric higher. */
export function higherIsBetter(metric: string): boolean {
  return metric !== "loss" && metric !== "mse";
}

/** The config's labels and problem type for the task. */
export function configForTask(
  config: ModelConfig,
  task: TaskKind,
  labels: LabelSet | null,
): ModelConfig {
  const updated = { ...config };
  if (labels) {
    updated.id2label = Object.fromEntries(labels.names.map((name, id) => [id, name]));
    updated.label2id = Object.fromEntries(labels.names.map((name, id) => [name, id]));
    updated.numLabels = labels.size;
  }
  if (task === "regression") {
    updated.id2label = { 0: "LABEL_0" };
    updated.label2id = { LABEL_0: 0 };
    updated.numLabels = 1;
    updated.problemType = "regression";
  } else if (task === "text-classification") {
    updated.problemType = "single_label_classification";
  }
  return updated;
}
