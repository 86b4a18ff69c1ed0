// SetFit: its pairs, CosineSimilarityLoss against the formula and finite differences, the logistic
// regression against an independent float64 gradient-descent solution (the fixture written by
// scripts/setfit-logistic-reference.py), resume bit for bit, and the folder it writes run as a
// classifier (pipeline, head gradients, ONNX) giving the probabilities the fitted head gives.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfig } from "../src/io/config.js";
import { Checkpoint } from "../src/io/safetensors.js";
import { loadModel } from "../src/models/index.js";
import { exportOnnx } from "../src/models/onnx-export.js";
import { verifyOnnx } from "../src/models/onnx-verify.js";
import { pipeline } from "../src/pipelines/index.js";
import { cosineSimilarityLoss } from "../src/retrieval/losses.js";
import { writeSentenceTransformerFiles } from "../src/retrieval/sentence-transformers-folder.js";
import { fitLogisticRegression, logisticProbabilities } from "../src/setfit/logistic-regression.js";
import { setFitPairs } from "../src/setfit/pairs.js";
import { type SetFitRun, setFitEmbeddings, trainSetFit } from "../src/setfit/recipe.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { loadTokenizer } from "../src/tokenizer/index.js";
import { readCheckpoint, resolveCheckpoint } from "../src/train/checkpoint.js";
import { type Reporter, silentReporter } from "../src/train/reporter.js";
import {
  abortAt,
  sentimentRows,
  shortLoop,
  temporaryDir,
  tinyModelFolder,
} from "./train-helpers.js";

test("SetFit pairs: per row, `iterations` pairs with its label (1) and as many with another (0), fixed by the seed", () => {
  const labels = [0, 0, 0, 1, 1, 2, 2];
  const names = ["a", "b", "c"];
  const pairs = setFitPairs(labels, names, 3, 5);
  assert.equal(pairs.length, labels.length * 3 * 2);
  labels.forEach((label, row) => {
    const own = pairs.filter((pair) => pair.first === row);
    const positives = own.filter((pair) => pair.target === 1);
    const negatives = own.filter((pair) => pair.target === 0);
    assert.equal(positives.length, 3);
    assert.equal(negatives.length, 3);
    for (const pair of positives) {
      assert.equal(labels[pair.second], label);
      assert.notEqual(pair.second, row, "a row is not its own positive");
    }
    for (const pair of negatives) assert.notEqual(labels[pair.second], label);
  });
  assert.deepEqual(setFitPairs(labels, names, 3, 5), pairs, "the same seed gives the same pairs");
  assert.notDeepEqual(setFitPairs(labels, names, 3, 6), pairs);
  assert.throws(() => setFitPairs([0, 0, 1], ["a", "b"], 1, 5), /label b has one row/);
  assert.throws(() => setFitPairs([0, 0, 0], ["a"], 1, 5), /at least two labels/);
});

function randomVectors(rows: number, size: number, seed: number): Float32Array {
  let x = seed;
  return Float32Array.from({ length: rows * size }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return (x / 2147483648) * 2 - 1;
  });
}

test("CosineSimilarityLoss is the mean squared error of the pairs' cosines, and its gradient the finite differences", () => {
  const size = 5;
  const vectors = randomVectors(8, size, 7);
  const first = [0, 1, 2, 3];
  const second = [4, 5, 6, 7];
  const labels = [1, 0, 1, 0];
  /** (1/B) sum_i (cos(v_first_i, v_second_i) - label_i)^2, in plain loops. */
  const reference = (v: Float32Array) => {
    let total = 0;
    for (let i = 0; i < first.length; i++) {
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let k = 0; k < size; k++) {
        const a = v[first[i] * size + k];
        const b = v[second[i] * size + k];
        ab += a * b;
        aa += a * a;
        bb += b * b;
      }
      total += (ab / Math.sqrt(aa * bb) - labels[i]) ** 2;
    }
    return total / first.length;
  };
  const grad = new Float32Array(vectors.length);
  const loss = cosineSimilarityLoss({ vectors, size, dim: size }, first, second, labels, grad);
  assert.ok(Math.abs(loss - reference(vectors)) < 1e-9, `${loss} vs ${reference(vectors)}`);
  const eps = 1e-3;
  let worst = 0;
  for (let k = 0; k < vectors.length; k++) {
    const plus = Float32Array.from(vectors);
    const minus = Float32Array.from(vectors);
    plus[k] += eps;
    minus[k] -= eps;
    const numeric = (reference(plus) - reference(minus)) / (plus[k] - minus[k]);
    worst = Math.max(worst, Math.abs(numeric - grad[k]));
  }
  assert.ok(worst < 1e-3, `max |analytic - numeric| ${worst}`);
  assert.ok(
    grad.some((g) => Math.abs(g) > 1e-2),
    "the gradient is not zero",
  );
});

interface ReferenceFit {
  rows: number[][];
  labels: number[];
  coef: number[] | number[][];
  intercept: number | number[];
  probabilities: number[][];
}

const reference = JSON.parse(
  readFileSync("test/fixtures/setfit/logistic-regression.json", "utf8"),
) as { binary: ReferenceFit; multinomial: ReferenceFit };

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

test("the binary logistic regression is scikit-learn's optimum (independent gradient descent)", () => {
  const { rows, labels, coef, intercept, probabilities } = reference.binary;
  const fit = fitLogisticRegression(rows, labels, 2);
  const dim = rows[0].length;
  // Class 0's row is pinned at zero; class 1's is scikit-learn's coef_ and intercept_.
  assert.deepEqual([...fit.model.weights.subarray(0, dim)], new Array(dim).fill(0));
  assert.equal(fit.model.intercepts[0], 0);
  assert.ok(maxDiff(fit.model.weights.subarray(dim), coef as number[]) < 1e-9);
  assert.ok(Math.abs(fit.model.intercepts[1] - (intercept as number)) < 1e-9);
  rows.forEach((x, i) => {
    assert.ok(maxDiff(logisticProbabilities(fit.model, x), probabilities[i]) < 1e-9);
  });
  assert.ok(fit.gradientNorm <= 1e-11 * rows.length, `${fit.gradientNorm}`);
});

test("the multinomial logistic regression is scikit-learn's optimum, intercepts summing to zero", () => {
  const { rows, labels, coef, intercept, probabilities } = reference.multinomial;
  const fit = fitLogisticRegression(rows, labels, 3);
  assert.ok(maxDiff(fit.model.weights, (coef as number[][]).flat()) < 1e-9);
  assert.ok(maxDiff(fit.model.intercepts, intercept as number[]) < 1e-9);
  assert.ok(Math.abs(fit.model.intercepts.reduce((a, b) => a + b, 0)) < 1e-12);
  rows.forEach((x, i) => {
    assert.ok(maxDiff(logisticProbabilities(fit.model, x), probabilities[i]) < 1e-9);
  });
});

const rows = sentimentRows(12, 4);
const train = {
  texts: rows.map((row) => row.text),
  labels: rows.map((row) => (row.label === "pos" ? 1 : 0)),
};

function setFitRun(
  modelDir: string,
  outDir: string,
  options: { reporter?: Reporter; resumeFrom?: string; steps?: number } = {},
): SetFitRun {
  const resume = options.resumeFrom ? readCheckpoint(resolveCheckpoint(options.resumeFrom)) : null;
  return {
    modelDir,
    backend: new ReferenceBackend(),
    train,
    labelNames: ["neg", "pos"],
    eval: null,
    iterations: 2,
    batchSize: 8,
    maxLength: 24,
    storage: () => "F32",
    loop: shortLoop(outDir, options.steps ?? 6, "accuracy"),
    reporter: options.reporter ?? silentReporter,
    resume,
  };
}

const tinyBert = tinyModelFolder();

test("an interrupted SetFit run resumes bit for bit, head included", () => {
  const wholeDir = temporaryDir("setfit-whole");
  const whole = trainSetFit(setFitRun(tinyBert, wholeDir));
  assert.equal(whole.steps.length, 6);
  const cut = temporaryDir("setfit-cut");
  assert.throws(
    () => trainSetFit(setFitRun(tinyBert, cut, { reporter: abortAt(4) })),
    /simulated interruption/,
  );
  const resumed = trainSetFit(setFitRun(tinyBert, cut, { resumeFrom: cut }));
  assert.deepEqual(
    resumed.steps.map((s) => s.loss),
    whole.steps.slice(2).map((s) => s.loss),
  );
  assert.ok(
    readFileSync(join(cut, "model.safetensors")).equals(
      readFileSync(join(wholeDir, "model.safetensors")),
    ),
    "the same weights, classifier included",
  );
});

/**
 * Trains a short SetFit run from `modelDir` and checks the folder: a sequence classifier whose
 * text-classification pipeline gives the probabilities of the logistic regression fitted on the
 * body's embeddings, an embedding model, and an ONNX export that computes the same logits.
 */
async function checkSetFitFolder(modelDir: string, pooling: "mean" | "cls", architecture: string) {
  const outDir = temporaryDir("setfit-folder");
  trainSetFit(setFitRun(modelDir, outDir, { steps: 2 }));
  const config = loadConfig(outDir);
  assert.deepEqual(config.architectures, [architecture]);
  assert.equal(config.classifierPooling, pooling);
  assert.deepEqual(config.id2label, { 0: "neg", 1: "pos" });
  const raw = JSON.parse(readFileSync(join(outDir, "config.json"), "utf8"));
  assert.equal(raw.classifier_pooling, pooling);
  assert.ok(existsSync(join(outDir, "modules.json")), "the body stays a sentence-transformer");
  const names = Checkpoint.open(outDir).names();
  assert.ok(names.includes("classifier.weight"));
  assert.ok(!names.some((name) => /pooler|pre_classifier/.test(name)), names.join(", "));

  // The head SetFit computes, independently: the body's normalised embeddings -> the regression.
  const body = loadModel(outDir, { backend: new ReferenceBackend(), head: "base" });
  const tokenizer = loadTokenizer(outDir);
  const embeddings = (texts: string[]) => setFitEmbeddings(body, tokenizer, texts, pooling, 24);
  const head = fitLogisticRegression(embeddings(train.texts), train.labels, 2).model;
  const texts = ["the film was very good", "awful", "bad poor film was the"];
  const expected = embeddings(texts).map((x) => logisticProbabilities(head, x));
  body.dispose();

  const classifier = await pipeline("text-classification", outDir, { backend: "reference" });
  const outputs = (await classifier.run(texts, { top_k: null })) as {
    label: string;
    score: number;
  }[][];
  outputs.forEach((scores, i) => {
    for (const { label, score } of scores) {
      const id = label === "neg" ? 0 : 1;
      assert.ok(Math.abs(score - expected[i][id]) < 1e-5, `${texts[i]} ${label}: ${score}`);
    }
  });
  classifier.model.dispose();

  const exported = exportOnnx(outDir, temporaryDir("setfit-onnx"));
  const model = loadModel(outDir);
  const gaps = await verifyOnnx(
    exported.files.model,
    model,
    tokenizer,
    exported.inputs,
    exported.outputs,
  );
  assert.ok(gaps.logits < 1e-4, `ONNX logits differ by ${gaps.logits}`);

  // Fine-tuning the folder further goes through the head: its backward against differences.
  const inputs = {
    inputIds: Int32Array.from([101, 2204, 2143, 102, 0, 101, 6659, 2143, 2001, 102]),
    attentionMask: Float32Array.from([1, 1, 1, 1, 0, 1, 1, 1, 1, 1]),
    batch: 2,
    seq: 5,
  };
  const labels = { labels: Int32Array.from([1, 0]) };
  const lossAt = () => model.forward(inputs, labels).loss as number;
  model.forward(inputs, labels, { train: true, dropout: false });
  model.zeroGradients();
  model.backward();
  for (const param of model.parameters.filter((p) => /classifier|layer\.0\.output/.test(p.name))) {
    const grad = param.grad as Float32Array;
    let best = 0;
    for (let i = 1; i < grad.length; i++) if (Math.abs(grad[i]) > Math.abs(grad[best])) best = i;
    const saved = param.data[best];
    const eps = 1e-2;
    param.data[best] = saved + eps;
    const plus = lossAt();
    param.data[best] = saved - eps;
    const minus = lossAt();
    param.data[best] = saved;
    const numeric = (plus - minus) / (2 * eps);
    assert.ok(
      Math.abs(numeric - grad[best]) <= 2e-2 * Math.abs(numeric) + 1e-5,
      `${param.name}[${best}]: ${grad[best]} vs ${numeric}`,
    );
  }
  model.dispose();
}

test("a BERT body with mean pooling gives a classifier folder computing SetFit's head", async () => {
  await checkSetFitFolder(tinyBert, "mean", "BertForSequenceClassification");
});

test("a DistilBERT body with CLS pooling gives a classifier folder computing SetFit's head", async () => {
  const body = tinyModelFolder("distilbert");
  writeSentenceTransformerFiles(body, { pooling: "cls", dimension: 16, maxSeqLength: 24 });
  await checkSetFitFolder(body, "cls", "DistilBertForSequenceClassification");
});
