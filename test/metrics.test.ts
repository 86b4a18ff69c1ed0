import assert from "node:assert/strict";
import { test } from "node:test";
import {
  accuracy,
  entities,
  entityScores,
  f1Binary,
  f1Macro,
  matthewsCorrelation,
  meanSquaredError,
  pearson,
  spearman,
  squadScores,
} from "../src/train/metrics.js";

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} != ${expected}`);
}

test("binary classification metrics", () => {
  const predictions = [1, 1, 0, 0, 1];
  const labels = [1, 0, 0, 0, 1];
  close(accuracy(predictions, labels), 0.8, "accuracy");
  close(f1Binary(predictions, labels), 0.8, "f1");
  // (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (2*2 - 1*0) / sqrt(3*2*3*2)
  close(matthewsCorrelation(predictions, labels), 4 / 6, "mcc");
  close(f1Binary([0, 0], [0, 0]), 0, "f1 with no positives (zero_division=0)");
  close(matthewsCorrelation([1, 1], [1, 1]), 0, "mcc of a constant prediction");
});

test("multi-class F1 macro and Matthews correlation", () => {
  const predictions = [0, 1, 2, 2, 1, 0];
  const labels = [0, 1, 1, 2, 2, 0];
  close(f1Macro(predictions, labels), (1 + 0.5 + 0.5) / 3, "f1 macro");
  close(matthewsCorrelation(predictions, labels), 0.5, "mcc");
  close(accuracy(predictions, labels), 4 / 6, "accuracy");
});

test("Pearson, Spearman (ties get average ranks) and MSE", () => {
  close(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]), 0.7745966692414834, "pearson");
  close(spearman([1, 2, 2, 3], [1, 3, 2, 4]), 0.9486832980505138, "spearman with ties");
  close(spearman([1, 2, 3], [10, 200, 3000]), 1, "spearman of a monotone map");
  close(meanSquaredError([1, 2], [2, 4]), 2.5, "mse");
});

test("IOB2 entities as seqeval reads them", () => {
  assert.deepEqual(entities(["B-PER", "I-PER", "O", "B-LOC"]), [
    { type: "PER", start: 0, end: 2 },
    { type: "LOC", start: 3, end: 4 },
  ]);
  // An I- tag after O, or continuing another type, starts a new entity.
  assert.deepEqual(entities(["O", "I-ORG", "I-PER", "B-PER", "B-PER"]), [
    { type: "ORG", start: 1, end: 2 },
    { type: "PER", start: 2, end: 3 },
    { type: "PER", start: 3, end: 4 },
    { type: "PER", start: 4, end: 5 },
  ]);
});

test("entity-level F1 is micro-averaged over exact spans", () => {
  const gold = [
    ["B-PER", "I-PER", "O", "B-LOC"],
    ["O", "B-ORG", "O"],
  ];
  const predicted = [
    ["B-PER", "I-PER", "O", "O"],
    ["O", "B-ORG", "I-ORG"],
  ];
  // gold 3 entities; predicted 2, of which PER matches (ORG span differs): P 1/2, R 1/3.
  const scores = entityScores(predicted, gold);
  close(scores.precision, 0.5, "precision");
  close(scores.recall, 1 / 3, "recall");
  close(scores.f1, 0.4, "f1");
  close(scores.accuracy, 5 / 7, "token accuracy");
});

test("SQuAD exact match and F1 normalise case, punctuation and articles", () => {
  assert.deepEqual(squadScores("The Eiffel Tower!", ["eiffel tower"]), { exact: 1, f1: 1 });
  const partial = squadScores("in Paris France", ["Paris", "in Paris"]);
  assert.equal(partial.exact, 0);
  close(partial.f1, 0.8, "best f1 over answers");
  assert.deepEqual(squadScores("nothing", ["else"]), { exact: 0, f1: 0 });
});
