import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { initStudent, weightSource } from "../src/distill/init-student.js";
import { distillClassifier } from "../src/distill/task-distill.js";
import { loadConfig } from "../src/io/config.js";
import { Checkpoint } from "../src/io/safetensors.js";
import { createModel, loadModel, saveWeights } from "../src/models/index.js";
import { Rng } from "../src/models/rng.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { readCheckpoint, resolveCheckpoint } from "../src/train/checkpoint.js";
import type { Feature } from "../src/train/features.js";
import { silentReporter } from "../src/train/reporter.js";
import { folderStore } from "../src/train/run-store.js";

const TEACHER = "test/fixtures/models/distilbert-seqcls";

test("task-specific distillation: a classifier student learns the teacher's predictions", () => {
  const backend = new ReferenceBackend();
  const teacher = loadModel(TEACHER, { backend });
  const init = initStudent(loadConfig(TEACHER), Checkpoint.open(TEACHER), { layers: 1 });
  assert.equal(init.config.architectures[0], "DistilBertForSequenceClassification");
  assert.equal(init.config.numLabels, 3);
  assert.deepEqual(
    init.weights.get("classifier.weight")?.data,
    Checkpoint.open(TEACHER).float32("classifier.weight"),
  );
  const student = createModel(init.config, weightSource(init.weights), backend);
  const rng = new Rng(4);
  const features: Feature[] = Array.from({ length: 24 }, (_, example) => {
    const ids = [1, ...Array.from({ length: 6 }, () => 5 + rng.int(990)), 2];
    return {
      example,
      sequences: [{ ids, typeIds: ids.map(() => 0) }],
      length: ids.length,
      label: rng.int(3),
    };
  });
  const out = mkdtempSync(join(tmpdir(), "distill-task-"));
  const result = distillClassifier(
    teacher,
    student,
    { path: "synthetic", features },
    0,
    {
      epochs: 6,
      steps: null,
      batchSize: 8,
      lr: 2e-3,
      warmupRatio: 0,
      weightDecay: 0,
      maxGradNorm: 5,
      temperature: 2,
      alphaCe: 5,
      alphaHard: 0,
      seed: 1,
      saveEvery: null,
      store: folderStore(out),
    },
    (dir) => saveWeights(init.config, new Map(student.parameters.map((p) => [p.name, p])), dir),
    silentReporter,
  );
  assert.equal(result.steps.length, 18);
  const first = result.steps.slice(0, 3).reduce((a, s) => a + s.parts.soft, 0);
  const last = result.steps.slice(-3).reduce((a, s) => a + s.parts.soft, 0);
  assert.ok(last < first / 2, `${first} -> ${last}`);
  assert.ok(existsSync(join(out, "checkpoint-18", "trainer_state.json")));
  assert.equal(loadConfig(out).architectures[0], "DistilBertForSequenceClassification");
});

test("a task distillation resumed from its checkpoint continues bit for bit", () => {
  const backend = new ReferenceBackend();
  const teacher = loadModel(TEACHER, { backend });
  const init = initStudent(loadConfig(TEACHER), Checkpoint.open(TEACHER), { layers: 1 });
  const rng = new Rng(8);
  const features: Feature[] = Array.from({ length: 16 }, (_, example) => {
    const ids = [1, ...Array.from({ length: 5 }, () => 5 + rng.int(990)), 2];
    return { example, sequences: [{ ids, typeIds: ids.map(() => 0) }], length: 7, label: 1 };
  });
  const options = (outDir: string) => ({
    epochs: 2,
    steps: null,
    batchSize: 4,
    lr: 1e-3,
    warmupRatio: 0.25,
    weightDecay: 0.01,
    maxGradNorm: 5,
    temperature: 2,
    alphaCe: 5,
    alphaHard: 1,
    seed: 2,
    saveEvery: 3,
    store: folderStore(outDir),
  });
  const run = (
    student: ReturnType<typeof createModel>,
    outDir: string,
    reporter = silentReporter,
    resume: ReturnType<typeof readCheckpoint> | null = null,
  ) =>
    distillClassifier(
      teacher,
      student,
      { path: "synthetic", features },
      0,
      options(outDir),
      (dir) => saveWeights(init.config, new Map(student.parameters.map((p) => [p.name, p])), dir),
      reporter,
      resume,
    );
  const fresh = () => createModel(init.config, weightSource(init.weights), backend);
  const straight = run(fresh(), mkdtempSync(join(tmpdir(), "task-a-")));
  assert.equal(straight.steps.length, 8);
  assert.ok(
    straight.steps.every((s) => s.gradNorm > 0),
    "the gradient norm is recorded",
  );
  const outB = mkdtempSync(join(tmpdir(), "task-b-"));
  const killed = {
    ...silentReporter,
    step(info: { step: number }) {
      if (info.step === 5) throw new Error("killed");
    },
  };
  assert.throws(() => run(fresh(), outB, killed), /killed/);
  const checkpoint = resolveCheckpoint(outB);
  assert.match(checkpoint, /checkpoint-3$/);
  const student = createModel(loadConfig(checkpoint), Checkpoint.open(checkpoint), backend);
  const resumed = run(student, outB, silentReporter, readCheckpoint(checkpoint));
  assert.deepEqual(resumed.steps, straight.steps.slice(3));
});
