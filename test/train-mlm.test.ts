// Masked-LM pretraining (train --task masked-lm), the evaluate command, the --out refusals, exact
// resume of the loop's newer users, and frozen parameters left out of AdamW.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { maskForEvaluation } from "../src/distill/eval-mlm.js";
import { Masker, packCorpus } from "../src/distill/mlm-data.js";
import { RowMaskedLM } from "../src/distill/row-mlm.js";
import { loadConfig } from "../src/io/config.js";
import { Checkpoint } from "../src/io/safetensors.js";
import { loadModel } from "../src/models/index.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { loadTokenizer } from "../src/tokenizer/index.js";
import { readCheckpoint, resolveCheckpoint } from "../src/train/checkpoint.js";
import { type MaskedLmOptions, pretrainMaskedLm, saveMaskedLm } from "../src/train/masked-lm.js";
import { AdamW } from "../src/train/optimizer.js";
import { silentReporter } from "../src/train/reporter.js";
import { folderStore } from "../src/train/run-store.js";
import { sentimentRows, temporaryDir, tinyModelFolder, writeJsonLines } from "./train-helpers.js";

const CLI = "dist/src/cli/main.js";
const cli = (...args: string[]) => spawnSync("node", [CLI, ...args], { encoding: "utf8" });
const json = (...args: string[]) => JSON.parse(execFileSync("node", [CLI, ...args]).toString());

const dir = temporaryDir("train-mlm");
// Sentences a model can learn to complete: each word follows from its neighbours.
const SENTENCES = [
  "the film was very good",
  "a great cast and a fine story",
  "poor acting ruins it",
];
const corpus = join(dir, "corpus.txt");
writeFileSync(corpus, `${Array.from({ length: 300 }, (_, i) => SENTENCES[i % 3]).join("\n")}\n`);
const evalCorpus = writeJsonLines(
  join(dir, "eval.jsonl"),
  Array.from({ length: 60 }, (_, i) => ({ text: SENTENCES[(i * 2) % 3] })),
);

test("train --task masked-lm raises masked-token accuracy; evaluate equals train --eval", () => {
  const model = tinyModelFolder("distilbert");
  const out = join(dir, "mlm");
  const scoreOf = (folder: string) =>
    json("evaluate", "--model", folder, "--task", "masked-lm", "--data", evalCorpus, "--json");
  const before = scoreOf(model);
  const run = cli(
    ...["train", "--model", model, "--task", "masked-lm", "--train", corpus],
    ...["--eval", evalCorpus, "--max-length", "16", "--batch-size", "8", "--epochs", "6"],
    ...["--lr", "1e-2", "--warmup-ratio", "0", "--out", out],
  );
  assert.equal(run.status, 0, run.stderr);
  const after = scoreOf(out);
  // A 1-layer, 16-wide model learns slowly: the unigram statistics first, then some context.
  assert.ok(after.accuracy > before.accuracy + 0.05, `${before.accuracy} -> ${after.accuracy}`);
  assert.ok(after.loss < before.loss / 2, `${before.loss} -> ${after.loss}`);
  const log = readFileSync(join(out, "eval_log.jsonl"), "utf8").trim().split("\n");
  // The folder holds the best evaluation's model (lowest loss), not necessarily the last.
  const logged = log.map((line) => JSON.parse(line)).sort((x, y) => x.loss - y.loss)[0];
  const evaluated = json(
    ...["evaluate", "--model", out, "--task", "masked-lm", "--data", evalCorpus],
    ...["--max-length", "16", "--batch-size", "8", "--json"],
  );
  for (const name of ["accuracy", "loss", "perplexity"]) {
    assert.ok(Math.abs(evaluated[name] - logged[name]) < 1e-9, `${name}: ${evaluated[name]}`);
  }
  assert.equal(loadConfig(out).architectures[0], "DistilBertForMaskedLM");
  const filled = json("predict", "fill-mask", "--model", out, "the film was [MASK] good");
  assert.equal(filled.length, 5);
});

test("evaluate scores a classifier with the metrics of train --eval", () => {
  const model = tinyModelFolder("bert");
  const train = writeJsonLines(join(dir, "cls.train.jsonl"), sentimentRows(40, 1));
  const evalPath = writeJsonLines(join(dir, "cls.eval.jsonl"), sentimentRows(16, 2));
  const out = join(dir, "cls");
  const run = cli(
    ...["train", "--model", model, "--task", "text-classification", "--train", train],
    ...["--eval", evalPath, "--epochs", "1", "--batch-size", "8", "--out", out],
    ...["--backend", "reference"],
  );
  assert.equal(run.status, 0, run.stderr);
  const logged = JSON.parse(readFileSync(join(out, "eval_log.jsonl"), "utf8").trim());
  const args = ["evaluate", "--model", out, "--task", "text-classification", "--data", evalPath];
  const scored = json(...args, "--batch-size", "8", "--backend", "reference", "--json");
  assert.deepEqual(Object.keys(scored).sort(), ["accuracy", "f1", "f1_macro", "loss", "mcc"]);
  for (const name of Object.keys(scored)) {
    assert.ok(Math.abs(scored[name] - logged[name]) < 1e-6, `${name}: ${scored[name]}`);
  }
  const cut = cli(...args, "--max-length", "6", "--backend", "reference");
  assert.equal(cut.status, 0, cut.stderr);
  assert.match(cut.stderr, /\d+ of 16 rows of .*cls\.eval\.jsonl are longer than --max-length 6/);
  const wrongTask = cli(...args.slice(0, 4), "masked-lm", "--data", "nope.txt");
  assert.equal(wrongTask.status, 1);
  assert.match(wrongTask.stderr, /cannot read the corpus nope\.txt/);
});

test("train, distill and init-student refuse an --out that would lose data", () => {
  const model = tinyModelFolder("bert");
  const train = writeJsonLines(join(dir, "refuse.jsonl"), sentimentRows(8, 4));
  const out = join(dir, "refuse-out");
  const base = ["train", "--model", model, "--task", "text-classification", "--train", train];
  const fast = ["--max-steps", "1", "--batch-size", "4", "--backend", "reference"];
  assert.equal(cli(...base, ...fast, "--out", out).status, 0);
  const again = cli(...base, ...fast, "--out", out);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /--out .*refuse-out is not empty: .*--resume .*--overwrite/);
  assert.equal(cli(...base, ...fast, "--out", out, "--overwrite").status, 0);
  const resumed = cli(...base, "--max-steps", "2", ...fast.slice(2), "--out", out, "--resume", out);
  assert.match(resumed.stderr, /cannot resume.*totalSteps 1 -> 2/, "resuming is let through");
  const intoModel = cli(...base, ...fast, "--out", model, "--overwrite");
  assert.equal(intoModel.status, 1);
  assert.match(intoModel.stderr, /is also an input of this run/);
  const student = cli("init-student", "--teacher", model, "--layers", "1", "--out", out);
  assert.equal(student.status, 1);
  assert.match(student.stderr, /is not empty/);
  const distill = cli(
    ...["distill", "--teacher", model, "--corpus", corpus, "--layers", "1", "--steps", "1"],
    ...["--out", out],
  );
  assert.equal(distill.status, 1);
  assert.match(distill.stderr, /is not empty/);
});

test("a masked-LM pretraining run resumed from a checkpoint continues bit for bit", () => {
  const folder = tinyModelFolder("bert");
  const backend = new ReferenceBackend();
  const tokenizer = loadTokenizer(folder);
  const lines = sentimentRows(40, 5).map((row) => row.text);
  const rows = packCorpus(lines, tokenizer, 16);
  const masker = Masker.forTokenizer(tokenizer, 0.15);
  const data = {
    rows,
    masker,
    padTokenId: tokenizer.padTokenId,
    eval: maskForEvaluation(rows, tokenizer),
  };
  const options = (outDir: string): MaskedLmOptions => ({
    epochs: 1,
    steps: 5,
    gradAccum: 1,
    lr: 1e-3,
    schedule: "linear",
    warmupRatio: 0.2,
    weightDecay: 0.01,
    decayAll: false,
    adamEps: 1e-8,
    maxGradNorm: 1,
    seed: 7,
    evalEvery: 2,
    earlyStopping: null,
    metric: "loss",
    saveEvery: 2,
    store: folderStore(outDir),
    batchSize: 4,
    mlmProbability: 0.15,
  });
  const modelFrom = (weights: string) =>
    RowMaskedLM.create(loadConfig(folder), Checkpoint.open(weights), backend, weights);
  const write = () => () => {};
  const straight = pretrainMaskedLm(
    modelFrom(folder),
    data,
    options(temporaryDir("mlm-a")),
    write(),
    silentReporter,
  );
  assert.equal(straight.steps.length, 5);
  const outB = temporaryDir("mlm-b");
  const crash = {
    ...silentReporter,
    step(info: { step: number }) {
      if (info.step === 3) throw new Error("killed");
    },
  };
  const modelB = modelFrom(folder);
  assert.throws(
    () =>
      pretrainMaskedLm(modelB, data, options(outB), (d) => saveMaskedLm(modelB, folder, d), crash),
    /killed/,
  );
  const checkpoint = resolveCheckpoint(outB);
  assert.match(checkpoint, /checkpoint-2$/);
  const resumed = pretrainMaskedLm(
    modelFrom(checkpoint),
    data,
    options(outB),
    write(),
    silentReporter,
    readCheckpoint(checkpoint),
  );
  assert.deepEqual(resumed.steps, straight.steps.slice(2));
  assert.deepEqual(
    resumed.evaluations.map((e) => e.metrics),
    straight.evaluations.slice(1).map((e) => e.metrics),
  );
});

test("frozen parameters get no update, decay or moments; the others follow AdamW", () => {
  const model = loadModel("test/fixtures/models/distilbert-sinusoidal-relu");
  model.enableGradients();
  const position = model.parameters.find((p) => p.frozen);
  assert.match(position?.name ?? "", /embeddings\.position_embeddings\.weight$/);
  for (const param of model.parameters) param.grad?.fill(0.5);
  const before = new Map(model.parameters.map((p) => [p.name, Float32Array.from(p.data)]));
  const optimizer = new AdamW(model.backend, model.parameters, { weightDecay: 0.1 });
  for (let step = 0; step < 3; step++) optimizer.update(1e-2);
  assert.ok(position);
  assert.deepEqual(position.data, before.get(position.name));
  assert.ok(!(`m.${position.name}` in optimizer.moments()));
  const word = model.parameters.find((p) => p.name.endsWith("word_embeddings.weight"));
  assert.ok(word);
  assert.notDeepEqual(word.data, before.get(word.name));
});

test("training with weight decay leaves DistilBERT's sinusoidal position table as it was", () => {
  const model = tinyModelFolder("distilbert", { sinusoidal_pos_embds: true });
  const train = writeJsonLines(join(dir, "sinusoidal.jsonl"), sentimentRows(16, 6));
  const out = join(dir, "sinusoidal");
  const run = cli(
    ...["train", "--model", model, "--task", "text-classification", "--train", train],
    ...["--max-steps", "3", "--batch-size", "4", "--lr", "1e-2", "--weight-decay", "0.5"],
    ...["--decay-all", "--out", out],
  );
  assert.equal(run.status, 0, run.stderr);
  const key = "distilbert.embeddings.position_embeddings.weight";
  const words = "distilbert.embeddings.word_embeddings.weight";
  const before = Checkpoint.open(model);
  const after = Checkpoint.open(out);
  assert.deepEqual(after.float32(key), before.float32(key));
  assert.notDeepEqual(after.float32(words), before.float32(words));
});
