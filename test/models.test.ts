// Parity with Hugging Face: every model fixture's outputs and loss, the embedded fp16 teacher's
// hidden states and masked-word predictions, on every backend; loading errors and head changes.

import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UserError } from "../src/errors.js";
import { loadConfig } from "../src/io/config.js";
import { SafetensorsFile, type TensorToWrite, writeSafetensors } from "../src/io/safetensors.js";
import { createModel, loadModel, saveModel } from "../src/models/index.js";
import type { Backend } from "../src/tensor/backend.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { allBackends } from "./backends.js";
import {
  checkForwardFixture,
  FORWARD_FIXTURES,
  MODEL_FIXTURES,
  maxAbsDiff,
  readBatch,
  TEACHER_DIR,
} from "./models-fixtures.js";

const backends = await allBackends();

for (const { label, backend } of backends) {
  for (const name of FORWARD_FIXTURES) {
    test(`${name} matches Hugging Face (${label})`, () => {
      const report = checkForwardFixture(backend, name);
      assert.ok(Object.keys(report.diffs).length > 0, "the fixture has outputs");
      for (const [output, diff] of Object.entries(report.diffs)) {
        assert.ok(diff <= 1e-4, `${output}: max |diff| ${diff}`);
      }
      if (report.expectedLoss !== undefined) {
        assert.ok(report.loss !== undefined, "a loss was computed");
        const relative =
          Math.abs(report.loss - report.expectedLoss) / Math.abs(report.expectedLoss);
        assert.ok(relative <= 1e-4, `loss ${report.loss} vs ${report.expectedLoss}`);
      }
    });
  }
}

function topK(row: Float32Array, k: number): number[] {
  return [...row.keys()].sort((a, b) => row[b] - row[a]).slice(0, k);
}

function checkTeacher(backend: Backend): void {
  const io = SafetensorsFile.open(join(TEACHER_DIR, "io.safetensors"));
  const meta = JSON.parse(readFileSync(join(TEACHER_DIR, "meta.json"), "utf8")) as {
    top5_at_masks: string[][];
  };
  const vocab = readFileSync(join(TEACHER_DIR, "vocab.txt"), "utf8").split("\n");
  const model = loadModel(TEACHER_DIR, { backend });
  const { inputs } = readBatch(io);
  const outputs = model.forward(inputs, undefined, { outputHiddenStates: true });
  const hidden = outputs.hiddenStates?.at(-1) as Float32Array;
  const hiddenDiff = maxAbsDiff(hidden, io.float32("last_hidden_state"));
  assert.ok(hiddenDiff <= 1e-3, `last hidden state: max |diff| ${hiddenDiff}`);
  const logits = outputs.logits as Float32Array;
  const vocabSize = model.config.vocabSize;
  const positions = io.int32("mask_positions");
  const expected = io.float32("mask_logits");
  for (let i = 0; i < positions.length / 2; i++) {
    const row = positions[2 * i] * inputs.seq + positions[2 * i + 1];
    const ours = logits.subarray(row * vocabSize, (row + 1) * vocabSize);
    const theirs = expected.subarray(i * vocabSize, (i + 1) * vocabSize);
    const diff = maxAbsDiff(ours, theirs);
    assert.ok(diff <= 1e-3, `mask ${i}: max |diff| ${diff}`);
    assert.deepEqual(
      topK(ours, 5).map((id) => vocab[id]),
      meta.top5_at_masks[i],
    );
  }
}

for (const { label, backend } of backends) {
  test(`the fp16 teacher bert-mini-sotu matches Hugging Face (${label})`, () =>
    checkTeacher(backend));
}

/** A copy of a fixture whose checkpoint is edited by `edit`. */
function editedFixture(
  name: string,
  edit: (tensors: Record<string, TensorToWrite>) => void,
): string {
  const dir = mkdtempSync(join(tmpdir(), "distilbert-models-"));
  const source = join(MODEL_FIXTURES, name);
  copyFileSync(join(source, "config.json"), join(dir, "config.json"));
  const file = SafetensorsFile.open(join(source, "model.safetensors"));
  const tensors: Record<string, TensorToWrite> = {};
  for (const tensor of file.names()) {
    tensors[tensor] = { dtype: "F32", shape: file.info(tensor).shape, data: file.float32(tensor) };
  }
  edit(tensors);
  writeSafetensors(join(dir, "model.safetensors"), tensors);
  return dir;
}

test("a missing tensor is a UserError naming it and the file", () => {
  const dir = editedFixture("distilbert-seqcls", (t) => {
    delete t["distilbert.transformer.layer.1.ffn.lin2.weight"];
  });
  try {
    assert.throws(
      () => loadModel(dir),
      (error: Error) =>
        error instanceof UserError &&
        error.message.includes("distilbert.transformer.layer.1.ffn.lin2.weight") &&
        error.message.includes(join(dir, "model.safetensors")),
    );
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("a tensor of the wrong shape is a UserError with both shapes", () => {
  const dir = editedFixture("bert-mlm", (t) => {
    t["bert.encoder.layer.2.intermediate.dense.weight"] = {
      dtype: "F32",
      shape: [64, 128],
      data: new Float32Array(64 * 128),
    };
  });
  try {
    assert.throws(
      () => loadModel(dir),
      (error: Error) =>
        error instanceof UserError &&
        error.message.includes("bert.encoder.layer.2.intermediate.dense.weight") &&
        error.message.includes("[64, 128]") &&
        error.message.includes("[128, 64]"),
    );
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("a head checkpoint loads as the base model and a base checkpoint under a new head", () => {
  const backend = new ReferenceBackend();
  const io = SafetensorsFile.open(join(MODEL_FIXTURES, "distilbert-mlm", "io.safetensors"));
  const { inputs } = readBatch(io);
  const base = loadModel(join(MODEL_FIXTURES, "distilbert-mlm"), { backend, head: "base" });
  assert.equal(base.architecture, "DistilBertModel");
  const hidden = base.forward(inputs, undefined, { outputHiddenStates: true });
  assert.ok(maxAbsDiff(hidden.lastHiddenState, io.float32("hidden_states.2")) <= 1e-4);

  const classifier = loadModel(join(MODEL_FIXTURES, "distilbert-base-model"), {
    backend,
    head: "sequence-classification",
  });
  assert.deepEqual(classifier.initializedKeys, [
    "pre_classifier.weight",
    "pre_classifier.bias",
    "classifier.weight",
    "classifier.bias",
  ]);
  assert.equal(classifier.parameters[0].name, "distilbert.embeddings.word_embeddings.weight");

  const teacher = loadModel(TEACHER_DIR, { backend, head: "sequence-classification" });
  assert.deepEqual(teacher.initializedKeys, [
    "bert.pooler.dense.weight",
    "bert.pooler.dense.bias",
    "classifier.weight",
    "classifier.bias",
  ]);
});

test("a saved model loads back with the same outputs (F32 exactly, F16 closely)", () => {
  const backend = new ReferenceBackend();
  const source = join(MODEL_FIXTURES, "bert-mlm");
  const io = SafetensorsFile.open(join(source, "io.safetensors"));
  const { inputs } = readBatch(io);
  const model = loadModel(source, { backend });
  const expected = Float32Array.from(model.forward(inputs).logits as Float32Array);
  for (const dtype of ["F32", "F16"] as const) {
    const dir = mkdtempSync(join(tmpdir(), "distilbert-save-"));
    try {
      saveModel(model, model.config, dir, { dtype });
      const reloaded = loadModel(dir, { backend });
      assert.equal(reloaded.architecture, "BertForMaskedLM");
      const diff = maxAbsDiff(reloaded.forward(inputs).logits as Float32Array, expected);
      assert.ok(dtype === "F32" ? diff === 0 : diff < 0.05, `${dtype}: ${diff}`);
      const written = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
      assert.equal(written.dtype, dtype === "F16" ? "float16" : "float32");
    } finally {
      rmSync(dir, { recursive: true });
    }
  }
});

test("createModel without weights initialises as Hugging Face (seeded)", () => {
  const config = loadConfig(join(MODEL_FIXTURES, "distilbert-sinusoidal-relu"));
  const backend = new ReferenceBackend();
  const a = createModel(config, null, backend, { seed: 7 });
  const b = createModel(config, null, backend, { seed: 7 });
  assert.deepEqual(a.parameters[0].data, b.parameters[0].data);
  const byName = new Map(a.parameters.map((p) => [p.name, p]));
  const word = byName.get("distilbert.embeddings.word_embeddings.weight");
  assert.ok(
    word?.data.subarray(0, 48).every((v) => v === 0),
    "padding row is zero",
  );
  const positions = byName.get("distilbert.embeddings.position_embeddings.weight");
  assert.ok(positions?.frozen);
  assert.ok(Math.abs((positions?.data[48 + 1] ?? 0) - Math.cos(1)) < 1e-6);
  assert.ok(byName.get("vocab_layer_norm.weight")?.data.every((v) => v === 1));
});

test("bad batches are UserErrors", () => {
  const model = loadModel(join(MODEL_FIXTURES, "distilbert-seqcls"));
  const ids = new Int32Array(6);
  assert.throws(() => model.forward({ inputIds: ids, batch: 2, seq: 4 }), UserError);
  assert.throws(
    () => model.forward({ inputIds: Int32Array.of(1, 2, 5000), batch: 1, seq: 3 }),
    /input_ids holds 5000/,
  );
  assert.throws(
    () => model.forward({ inputIds: ids, batch: 2, seq: 3 }, { labels: Int32Array.of(0, 3) }),
    /labels holds 3/,
  );
  assert.throws(
    () => model.forward({ inputIds: new Int32Array(65), batch: 1, seq: 65 }),
    /max_position_embeddings/,
  );
});
