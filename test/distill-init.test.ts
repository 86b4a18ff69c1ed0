import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { defaultTeacherLayers, initStudent } from "../src/distill/init-student.js";
import { UserError } from "../src/errors.js";
import { loadConfig } from "../src/io/config.js";
import { Checkpoint } from "../src/io/safetensors.js";
import { saveWeights } from "../src/models/index.js";

const TEACHER = "test/fixtures/models/bert-mlm";
const EXPECTED = "test/fixtures/models/distill-student-init";

test("default teacher layers are evenly spaced, first and last kept", () => {
  assert.deepEqual(defaultTeacherLayers(12, 6), [0, 2, 4, 7, 9, 11]);
  assert.deepEqual(defaultTeacherLayers(4, 2), [0, 3]);
  assert.deepEqual(defaultTeacherLayers(4, 1), [3]);
  assert.deepEqual(defaultTeacherLayers(4, 4), [0, 1, 2, 3]);
});

test("the student equals Hugging Face's extraction, every weight", () => {
  const student = initStudent(loadConfig(TEACHER), Checkpoint.open(TEACHER), { layers: 2 });
  assert.deepEqual(student.teacherLayers, [0, 3]);
  const expected = Checkpoint.open(EXPECTED);
  assert.deepEqual([...student.weights.keys()].sort(), expected.names().sort());
  for (const name of expected.names()) {
    const got = student.weights.get(name);
    assert.ok(got);
    assert.deepEqual(got.shape, expected.info(name).shape, name);
    assert.deepEqual(got.data, expected.float32(name), name);
  }
  const config = loadConfig(EXPECTED);
  for (const key of [
    "modelType",
    "architectures",
    "hiddenSize",
    "numLayers",
    "numHeads",
    "intermediateSize",
    "activation",
    "maxPositionEmbeddings",
    "vocabSize",
    "sinusoidalPosEmbds",
    "dropout",
    "attentionDropout",
  ] as const) {
    assert.deepEqual(student.config[key], config[key], key);
  }
});

test("folding the token type adds type-0 into every position row", () => {
  const teacher = Checkpoint.open(TEACHER);
  const student = initStudent(loadConfig(TEACHER), teacher, { layers: 2, foldTokenType: true });
  const positions = teacher.float32("bert.embeddings.position_embeddings.weight");
  const typeZero = teacher.float32("bert.embeddings.token_type_embeddings.weight");
  const folded = student.weights.get("distilbert.embeddings.position_embeddings.weight")?.data;
  assert.ok(folded);
  for (const i of [0, 63, 64 * 5 + 7, 64 * 64 - 1]) {
    assert.equal(folded[i], Math.fround(positions[i] + typeZero[i % 64]));
  }
});

test("a DistilBERT teacher gives a smaller DistilBERT student; written and read back", () => {
  const dir = mkdtempSync(join(tmpdir(), "distill-init-"));
  const first = initStudent(loadConfig(TEACHER), Checkpoint.open(TEACHER), { layers: 3 });
  saveWeights(first.config, first.weights, dir);
  writeFileSync(join(dir, "vocab.txt"), "[PAD]\n");
  const out = mkdtempSync(join(tmpdir(), "distill-init-"));
  const second = initStudent(loadConfig(dir), Checkpoint.open(dir), {
    layers: 2,
    teacherLayers: [1, 2],
  });
  saveWeights(second.config, second.weights, out, { dtype: "F16", tokenizerFrom: dir });
  assert.ok(readdirSync(out).includes("vocab.txt"));
  const reread = Checkpoint.open(out);
  assert.equal(reread.info("vocab_projector.bias").dtype, "F16");
  assert.equal(loadConfig(out).numLayers, 2);
  // student layer 0 <- first student's layer 1 <- teacher layer round(1 * 3 / 2) = 2
  const q = Checkpoint.open(TEACHER).float32("bert.encoder.layer.2.attention.self.query.weight");
  const got = reread.float32("distilbert.transformer.layer.0.attention.q_lin.weight");
  for (let i = 0; i < q.length; i += 97)
    assert.ok(Math.abs(got[i] - q[i]) < 1e-3 * Math.abs(q[i]) + 1e-6);
});

test("bad layer choices are user errors", () => {
  const config = loadConfig(TEACHER);
  const teacher = Checkpoint.open(TEACHER);
  assert.throws(() => initStudent(config, teacher, { layers: 5 }), UserError);
  assert.throws(() => initStudent(config, teacher, { layers: 2, teacherLayers: [0] }), UserError);
  assert.throws(
    () => initStudent(config, teacher, { layers: 2, teacherLayers: [0, 4] }),
    UserError,
  );
});
