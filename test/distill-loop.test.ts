import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { initStudent, weightSource } from "../src/distill/init-student.js";
import { DEFAULT_LOSS_WEIGHTS } from "../src/distill/losses.js";
import { Masker, type PackedRows } from "../src/distill/mlm-data.js";
import { distillMlm, type MlmDistillOptions } from "../src/distill/mlm-distill.js";
import { RowMaskedLM } from "../src/distill/row-mlm.js";
import { loadConfig } from "../src/io/config.js";
import { Checkpoint } from "../src/io/safetensors.js";
import { saveWeights } from "../src/models/index.js";
import { Rng } from "../src/models/rng.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { readCheckpoint, resolveCheckpoint } from "../src/train/checkpoint.js";
import { silentReporter } from "../src/train/reporter.js";
import { folderStore } from "../src/train/run-store.js";

const TEACHER = "test/fixtures/models/bert-mlm";
const [PAD, CLS, SEP, MASK] = [0, 1, 2, 3];
const SEQ = 16;

function rows(): PackedRows {
  const count = 12;
  const rng = new Rng(1);
  const ids = new Int32Array(count * SEQ);
  for (let r = 0; r < count; r++) {
    const length = r === count - 1 ? 9 : SEQ;
    ids[r * SEQ] = CLS;
    for (let i = 1; i < length - 1; i++) ids[r * SEQ + i] = 5 + rng.int(995);
    ids[r * SEQ + length - 1] = SEP;
  }
  return { ids, count, seqLen: SEQ };
}

const backend = new ReferenceBackend();
const teacher = RowMaskedLM.create(loadConfig(TEACHER), Checkpoint.open(TEACHER), backend, TEACHER);
const data = {
  rows: rows(),
  masker: new Masker({
    vocabSize: 1000,
    maskTokenId: MASK,
    specialIds: [PAD, CLS, SEP, MASK],
    probability: 0.15,
    smoothing: 0,
  }),
  padTokenId: PAD,
};

function freshStudent(): RowMaskedLM {
  const init = initStudent(loadConfig(TEACHER), Checkpoint.open(TEACHER), { layers: 2 });
  return RowMaskedLM.create(init.config, weightSource(init.weights), backend, "student");
}

function options(outDir: string): MlmDistillOptions {
  return {
    batchSize: 4,
    lr: 5e-3,
    warmupRatio: 0.25,
    maxGradNorm: 5,
    weightDecay: 0.01,
    seed: 3,
    steps: 4,
    timeBudget: null,
    saveEvery: 2,
    loss: DEFAULT_LOSS_WEIGHTS,
    mlmSmoothing: 0,
    store: folderStore(outDir),
  };
}

function writer(student: RowMaskedLM) {
  return (dir: string) => saveWeights(student.config, student.checkpointTensors(), dir);
}

test("distillation lowers the loss, and a resumed run continues with the same losses", () => {
  const outA = mkdtempSync(join(tmpdir(), "distill-a-"));
  const studentA = freshStudent();
  const straight = distillMlm(teacher, studentA, data, options(outA), writer(studentA));
  assert.equal(straight.finalStep, 4);
  assert.ok(existsSync(join(outA, "model.safetensors")));
  assert.ok(existsSync(join(outA, "checkpoint-4", "trainer_state.json")));

  const outB = mkdtempSync(join(tmpdir(), "distill-b-"));
  const studentB = freshStudent();
  const crashAfterStepTwo = {
    ...silentReporter,
    step(info: { step: number }) {
      if (info.step === 3) throw new Error("killed");
    },
  };
  assert.throws(
    () => distillMlm(teacher, studentB, data, options(outB), writer(studentB), crashAfterStepTwo),
    /killed/,
  );
  const checkpoint = resolveCheckpoint(outB);
  assert.match(checkpoint, /checkpoint-2$/);
  const resumedStudent = RowMaskedLM.create(
    loadConfig(checkpoint),
    Checkpoint.open(checkpoint),
    backend,
    checkpoint,
  );
  const resumed = distillMlm(
    teacher,
    resumedStudent,
    data,
    options(outB),
    writer(resumedStudent),
    silentReporter,
    readCheckpoint(checkpoint),
  );
  assert.deepEqual(resumed.steps, straight.steps.slice(2));
  assert.throws(
    () =>
      distillMlm(
        teacher,
        freshStudent(),
        data,
        { ...options(outB), lr: 1e-3 },
        () => {},
        silentReporter,
        readCheckpoint(resolveCheckpoint(outB)),
      ),
    /cannot resume.*lr/,
  );
});

test("more steps lower the distillation loss", () => {
  const out = mkdtempSync(join(tmpdir(), "distill-c-"));
  const student = freshStudent();
  const result = distillMlm(
    teacher,
    student,
    data,
    { ...options(out), steps: 12, saveEvery: null, warmupRatio: 0 },
    writer(student),
  );
  const first = result.steps.slice(0, 3).reduce((a, s) => a + s.loss, 0);
  const last = result.steps.slice(-3).reduce((a, s) => a + s.loss, 0);
  assert.ok(last < first, `${first / 3} -> ${last / 3}`);
});

test("a time budget plans the step count from a timed step and stops when spent", () => {
  const out = mkdtempSync(join(tmpdir(), "distill-d-"));
  const student = freshStudent();
  const result = distillMlm(
    teacher,
    student,
    data,
    { ...options(out), steps: null, timeBudget: 2, saveEvery: null },
    writer(student),
  );
  assert.ok(result.totalSteps >= 1);
  assert.ok(result.finalStep >= 1 && result.finalStep <= result.totalSteps);
  assert.ok(existsSync(join(out, "model.safetensors")));
});
