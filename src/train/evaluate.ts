// Evaluation: the model in inference mode over a dataset, predictions turned into the task's
// metrics (plus the mean loss).

import type { Model } from "../models/types.js";
import { collate, evaluationBatches } from "./batching.js";
import type { Dataset, Feature } from "./features.js";
import type { LabelSet } from "./labels.js";
import {
  accuracy,
  entityScores,
  f1Binary,
  f1Macro,
  matthewsCorrelation,
  meanSquaredError,
  pearson,
  spearman,
  squadScores,
} from "./metrics.js";
import type { TaskKind } from "./tasks.js";

/** Longest answer, in tokens, the QA evaluation considers (Hugging Face's max_answer_length). */
const MAX_ANSWER_TOKENS = 30;

function argmax(values: Float32Array, offset: number, count: number): number {
  let best = 0;
  for (let i = 1; i < count; i++) if (values[offset + i] > values[offset + best]) best = i;
  return best;
}

interface Accumulator {
  add(features: Feature[], outputs: ReturnType<Model["forward"]>, seq: number): void;
  metrics(): Record<string, number>;
}

function classification(labels: LabelSet | null, choices: boolean): Accumulator {
  const predictions: number[] = [];
  const gold: number[] = [];
  return {
    add(features, outputs) {
      const logits = outputs.logits as Float32Array;
      const width = logits.length / features.length;
      features.forEach((f, b) => {
        predictions.push(argmax(logits, b * width, width));
        gold.push(f.label ?? 0);
      });
    },
    metrics() {
      const scores: Record<string, number> = { accuracy: accuracy(predictions, gold) };
      if (choices) return scores;
      if ((labels?.size ?? 2) === 2) scores.f1 = f1Binary(predictions, gold);
      scores.f1_macro = f1Macro(predictions, gold);
      scores.mcc = matthewsCorrelation(predictions, gold);
      return scores;
    },
  };
}

function regression(): Accumulator {
  const predictions: number[] = [];
  const gold: number[] = [];
  return {
    add(features, outputs) {
      const logits = outputs.logits as Float32Array;
      features.forEach((f, b) => {
        predictions.push(logits[b]);
        gold.push(f.floatLabel ?? 0);
      });
    },
    metrics: () => ({
      pearson: pearson(predictions, gold),
      spearman: spearman(predictions, gold),
      mse: meanSquaredError(predictions, gold),
    }),
  };
}

function tokenClassification(labels: LabelSet): Accumulator {
  const predicted: string[][] = [];
  const gold: string[][] = [];
  return {
    add(features, outputs, seq) {
      const logits = outputs.logits as Float32Array;
      const width = labels.size;
      features.forEach((f, b) => {
        const sentencePredicted: string[] = [];
        const sentenceGold: string[] = [];
        (f.tokenLabels ?? []).forEach((label, t) => {
          if (label < 0) return;
          sentenceGold.push(labels.names[label]);
          sentencePredicted.push(labels.names[argmax(logits, (b * seq + t) * width, width)]);
        });
        predicted.push(sentencePredicted);
        gold.push(sentenceGold);
      });
    },
    metrics: () => ({ ...entityScores(predicted, gold) }),
  };
}

function questionAnswering(dataset: Dataset): Accumulator {
  const best = new Map<number, { score: number; text: string }>();
  return {
    add(features, outputs, seq) {
      const starts = outputs.startLogits as Float32Array;
      const ends = outputs.endLogits as Float32Array;
      features.forEach((f, b) => {
        const offsets = f.contextOffsets ?? [];
        const context = dataset.qaExamples?.[f.example]?.context ?? "";
        for (let s = 0; s < offsets.length; s++) {
          const startOffset = offsets[s];
          if (!startOffset) continue;
          const last = Math.min(offsets.length - 1, s + MAX_ANSWER_TOKENS - 1);
          for (let e = s; e <= last; e++) {
            const endOffset = offsets[e];
            if (!endOffset) continue;
            const score = starts[b * seq + s] + ends[b * seq + e];
            const current = best.get(f.example);
            if (!current || score > current.score) {
              best.set(f.example, { score, text: context.slice(startOffset[0], endOffset[1]) });
            }
          }
        }
      });
    },
    metrics() {
      let exact = 0;
      let f1 = 0;
      const examples = dataset.qaExamples ?? [];
      let count = 0;
      examples.forEach((example, i) => {
        const scores = squadScores(best.get(i)?.text ?? "", example.answers);
        exact += scores.exact;
        f1 += scores.f1;
        count++;
      });
      return { exact_match: exact / Math.max(1, count), f1: f1 / Math.max(1, count) };
    },
  };
}

export function evaluate(
  model: Model,
  dataset: Dataset,
  task: TaskKind,
  labels: LabelSet | null,
  batchSize: number,
  padId: number,
): Record<string, number> {
  const accumulator =
    task === "regression"
      ? regression()
      : task === "token-classification"
        ? tokenClassification(labels as LabelSet)
        : task === "question-answering"
          ? questionAnswering(dataset)
          : classification(labels, task === "multiple-choice");
  let lossSum = 0;
  const lengths = dataset.features.map((f) => f.length);
  for (const indices of evaluationBatches(lengths, batchSize)) {
    const features = indices.map((i) => dataset.features[i]);
    const batch = collate(features, padId);
    const outputs = model.forward(batch.inputs, batch.labels);
    lossSum += (outputs.loss ?? 0) * features.length;
    accumulator.add(features, outputs, batch.inputs.seq);
  }
  return { ...accumulator.metrics(), loss: lossSum / dataset.features.length };
}
