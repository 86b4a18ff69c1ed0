import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { initStudent, saveWeights, weightSource } from "../src/distill/init-student.js";
import { distillClassifier } from "../src/distill/task-distill.js";
import { loadConfig } from "../src/io/config.js";
import { Checkpoint } from "../src/io/safetensors.js";
import { createModel, loadModel } from "../src/models/index.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import type { Feature } from "../src/train/features.js";
import { silentReporter } from "../src/train/progress.js";
import { Rng } from "../src/train/rng.js";

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
      outDir: out,
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
