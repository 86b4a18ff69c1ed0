import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { loadTokenizer } from "../src/tokenizer/index.js";
import { epochBatches } from "../src/train/batching.js";
import { readCheckpoint, resolveCheckpoint } from "../src/train/checkpoint.js";
import { readDataFile } from "../src/train/data.js";
import { encodeDataset, trainingLabelSet } from "../src/train/features.js";
import type { StepRecord } from "../src/train/loop.js";
import { prepareModel } from "../src/train/model-setup.js";
import type { Reporter } from "../src/train/reporter.js";
import { folderStore } from "../src/train/run-store.js";
import { type TrainerOptions, train } from "../src/train/trainer.js";
import {
  abortAt,
  sentimentRows,
  temporaryDir,
  tinyModelFolder,
  writeJsonLines,
} from "./train-helpers.js";

const modelDir = tinyModelFolder();
const dataDir = temporaryDir("train-data");
const trainPath = writeJsonLines(join(dataDir, "train.jsonl"), sentimentRows(40, 1));
const evalPath = writeJsonLines(join(dataDir, "eval.jsonl"), sentimentRows(12, 2));
const fields = { text: "text", pair: null, label: "label" };
const tokenizer = loadTokenizer(modelDir);
const trainFile = readDataFile(trainPath);
const labels = trainingLabelSet(
  trainFile,
  "text-classification",
  fields,
  ["LABEL_0", "LABEL_1"],
  null,
);
const settings = { task: "text-classification" as const, fields, maxLength: 32, labels };
const trainData = encodeDataset(trainFile, tokenizer, settings);
const evalData = encodeDataset(readDataFile(evalPath), tokenizer, settings);

function options(outDir: string): TrainerOptions {
  return {
    task: "text-classification",
    epochs: 2,
    batchSize: 4,
    lr: 1e-3,
    weightDecay: 0.01,
    decayAll: false,
    warmupRatio: 0.2,
    schedule: "linear",
    gradAccum: 1,
    maxGradNorm: 1,
    seed: 7,
    maxSteps: null,
    evalEvery: 5,
    earlyStopping: null,
    metric: "accuracy",
    saveEvery: 4,
    store: folderStore(outDir),
  };
}

function run(outDir: string, reporter?: Reporter, resumeFrom?: string): StepRecord[] {
  const resume = resumeFrom ? readCheckpoint(resolveCheckpoint(resumeFrom)) : null;
  const prepared = prepareModel(
    modelDir,
    "text-classification",
    labels,
    new ReferenceBackend(),
    7,
    resume?.dir,
  );
  return train(
    {
      model: prepared.model,
      writeFolder: (dir) => prepared.writeFolder(dir),
      train: trainData,
      eval: evalData,
      labels,
      padId: tokenizer.padTokenId,
      reporter,
    },
    options(outDir),
    resume,
  ).steps;
}

test("a resumed run's losses equal an uninterrupted run's bit for bit", () => {
  const whole = run(temporaryDir("train-whole"));
  assert.equal(whole.length, 20);
  const interruptedDir = temporaryDir("train-interrupted");
  // Stopped during step 10 (after its update, before its checkpoint): resumes from step 8.
  assert.throws(() => run(interruptedDir, abortAt(10)), /simulated interruption/);
  assert.ok(existsSync(join(interruptedDir, "checkpoint-8")));
  assert.ok(!existsSync(join(interruptedDir, "checkpoint-4")), "older checkpoints are removed");
  const resumed = run(interruptedDir, undefined, interruptedDir);
  assert.deepEqual(
    resumed.map((s) => s.loss),
    whole.slice(8).map((s) => s.loss),
  );
  assert.deepEqual(
    resumed.map((s) => s.lr),
    whole.slice(8).map((s) => s.lr),
  );
  // The evaluation log has each evaluation once, the interrupted run's extra one trimmed.
  const logged = readFileSync(join(interruptedDir, "eval_log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line).step);
  assert.deepEqual(logged, [5, 10, 15, 20]);
});

test("the output folder is a Hugging Face classification model with the labels", () => {
  const outDir = temporaryDir("train-out");
  const steps = run(outDir);
  assert.ok(steps[steps.length - 1].loss < steps[0].loss + 0.5);
  const config = JSON.parse(readFileSync(join(outDir, "config.json"), "utf8"));
  assert.deepEqual(config.architectures, ["BertForSequenceClassification"]);
  assert.deepEqual(config.id2label, { 0: "neg", 1: "pos" });
  assert.deepEqual(config.label2id, { neg: 0, pos: 1 });
  for (const name of ["model.safetensors", "tokenizer.json", "vocab.txt", "eval_log.jsonl"]) {
    assert.ok(existsSync(join(outDir, name)), name);
  }
  const state = readCheckpoint(resolveCheckpoint(outDir)).state;
  assert.equal(state.step, 20);
  assert.ok(state.bestStep !== null);
});

test("length-grouped batches: every example once per epoch, seeded, less padding", () => {
  const lengths = Array.from({ length: 1000 }, (_, i) => 5 + ((i * 37) % 120));
  const batches = epochBatches(lengths, 8, 3, 0);
  const seen = batches.flat().sort((a, b) => a - b);
  assert.deepEqual(
    seen,
    lengths.map((_, i) => i),
  );
  assert.deepEqual(epochBatches(lengths, 8, 3, 0), batches);
  assert.notDeepEqual(epochBatches(lengths, 8, 3, 1), batches);
  const padded = (groups: number[][]) =>
    groups.reduce((sum, g) => sum + g.length * Math.max(...g.map((i) => lengths[i])), 0);
  const random: number[][] = [];
  for (let i = 0; i < 1000; i += 8) random.push(Array.from({ length: 8 }, (_, k) => i + k));
  assert.ok(padded(batches) < 0.8 * padded(random));
});
