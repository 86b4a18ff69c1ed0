import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { loadTokenizer } from "../src/tokenizer/index.js";
import { readDataFile } from "../src/train/data.js";
import { encodeDataset, trainingLabelSet } from "../src/train/features.js";
import { prepareModel } from "../src/train/model-setup.js";
import { folderStore } from "../src/train/run-store.js";
import { TASKS, type TaskKind } from "../src/train/tasks.js";
import { train } from "../src/train/trainer.js";
import { temporaryDir, tinyModelFolder } from "./train-helpers.js";

const modelDir = tinyModelFolder("distilbert");
const tokenizer = loadTokenizer(modelDir);
const dataDir = temporaryDir("train-tasks");

const context = "The river Nile flows north through Egypt into the Mediterranean Sea.";
const ROWS: Record<Exclude<TaskKind, "text-classification">, object[]> = {
  regression: [
    { text: "a fine day", label: 0.5 },
    { text: "the best day ever", label: 0.9 },
    { text: "a terrible day", label: 0.1 },
    { text: "an ordinary day", label: 0.4 },
  ],
  "token-classification": [
    {
      tokens: ["Ada", "Lovelace", "lived", "in", "London"],
      ner_tags: ["B-PER", "I-PER", "O", "O", "B-LOC"],
    },
    { tokens: ["Paris", "is", "big"], ner_tags: ["B-LOC", "O", "O"] },
    { tokens: ["Alan", "visited", "Rome"], ner_tags: ["B-PER", "O", "B-LOC"] },
  ],
  "question-answering": [
    {
      question: "Where does the Nile flow?",
      context,
      answers: { text: ["north"], answer_start: [context.indexOf("north")] },
    },
    {
      question: "Which sea?",
      context,
      answers: { text: ["Mediterranean Sea"], answer_start: [context.indexOf("Mediterranean")] },
    },
  ],
  "multiple-choice": [
    { question: "The cat", choices: ["meows", "flies to the moon"], label: 0 },
    { question: "Fish", choices: ["walk on land", "swim"], label: 1 },
  ],
};

const ARCHITECTURES: Record<string, string> = {
  regression: "DistilBertForSequenceClassification",
  "token-classification": "DistilBertForTokenClassification",
  "question-answering": "DistilBertForQuestionAnswering",
  "multiple-choice": "DistilBertForMultipleChoice",
};

for (const [task, rows] of Object.entries(ROWS) as [TaskKind, object[]][]) {
  test(`${task}: trains, evaluates its metrics and writes a ${ARCHITECTURES[task]}`, () => {
    const path = join(dataDir, `${task}.jsonl`);
    writeFileSync(path, rows.map((row) => `${JSON.stringify(row)}\n`).join(""));
    const fields = TASKS[task].defaultFields;
    const file = readDataFile(path);
    const labels = trainingLabelSet(file, task, fields, ["LABEL_0", "LABEL_1"], null);
    const dataset = encodeDataset(file, tokenizer, { task, fields, maxLength: 24, labels });
    const prepared = prepareModel(modelDir, task, labels, new ReferenceBackend(), 3);
    const outDir = temporaryDir(`train-${task}`);
    const result = train(
      {
        model: prepared.model,
        writeFolder: (dir) => prepared.writeFolder(dir),
        train: dataset,
        eval: dataset,
        labels,
        padId: tokenizer.padTokenId,
      },
      {
        task,
        epochs: 2,
        batchSize: 2,
        lr: 1e-3,
        weightDecay: 0.01,
        decayAll: false,
        warmupRatio: 0,
        schedule: "constant",
        gradAccum: 2,
        maxGradNorm: 1,
        seed: 1,
        maxSteps: null,
        evalEvery: null,
        earlyStopping: null,
        metric: TASKS[task].defaultMetric,
        saveEvery: null,
        store: folderStore(outDir),
      },
    );
    assert.ok(result.steps.every((s) => Number.isFinite(s.loss)));
    assert.equal(result.evaluations.length, 2, "one evaluation per epoch");
    const metrics = result.evaluations[1].metrics;
    for (const name of TASKS[task].metrics) {
      assert.ok(typeof metrics[name] === "number", `${name} in ${JSON.stringify(metrics)}`);
    }
    const config = JSON.parse(readFileSync(join(outDir, "config.json"), "utf8"));
    assert.deepEqual(config.architectures, [ARCHITECTURES[task]]);
    if (task === "regression") assert.equal(config.problem_type, "regression");
    if (task === "token-classification") {
      assert.deepEqual(config.id2label, { 0: "B-LOC", 1: "B-PER", 2: "I-PER", 3: "O" });
    }
  });
}
