import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { countParameters, measureSpeed, weightBytes } from "../src/distill/compare.js";
import { comparisonTable } from "../src/distill/comparison.js";
import { ReferenceBackend } from "../src/tensor/reference.js";

const STUDENT = "test/fixtures/models/distill-student-init";
const TEACHER = "test/fixtures/models/bert-mlm";

test("parameters are counted as stored (the tied projector once)", () => {
  // embeddings 1000x64 + 64x64 + LayerNorm, 2 layers, MLM head (transform, LayerNorm, bias)
  const layer = 4 * (64 * 64 + 64) + 2 * 64 + (128 * 64 + 128) + (64 * 128 + 64) + 2 * 64;
  const expected = 1000 * 64 + 64 * 64 + 2 * 64 + 2 * layer + 64 * 64 + 64 + 2 * 64 + 1000;
  assert.equal(countParameters(STUDENT), expected);
  assert.ok(countParameters(TEACHER) > expected);
  assert.ok(weightBytes(STUDENT) > 4 * expected);
});

test("speed is measured on the encoder; the table gives shares and speed-ups", () => {
  const speed = measureSpeed(STUDENT, new ReferenceBackend(), { seq: 8, batch: 2, repeats: 1 });
  assert.ok(speed.latencyMs > 0 && speed.throughput > 0);
  const table = comparisonTable([
    {
      what: "parameters",
      teacher: 200,
      student: 100,
      studentInt8: 25,
      relation: "share",
      format: String,
    },
    { what: "latency", teacher: 30, student: 10, studentInt8: 5, relation: "time", format: String },
    {
      what: "throughput",
      teacher: 10,
      student: 25,
      studentInt8: 40,
      relation: "rate",
      format: String,
    },
  ]);
  assert.match(table, /\| parameters \| 200 \| 100 \| 50\.0% \| 25 \| 12\.5% \|/);
  assert.match(table, /\| latency \| 30 \| 10 \| 3\.00x faster \| 5 \| 6\.00x faster \|/);
  assert.match(table, /\| throughput \| 10 \| 25 \| 2\.50x faster \| 40 \| 4\.00x faster \|/);
});

test("distilbert compare gives the student in int8 its own column", () => {
  const cli = join(import.meta.dirname, "..", "src", "cli", "main.js");
  // The embedded pair: the fixtures are too short for compare's 128-token rows.
  const args = ["compare", "--teacher", "models/bert-mini-sotu", "--student"];
  args.push("models/distilbert-mini-sotu", "--repeats", "1", "--json");
  const out = JSON.parse(execFileSync(process.execPath, [cli, ...args], { encoding: "utf8" }));
  const disk = out["weights on disk"];
  // About a byte a parameter, against two for the float16 student.
  assert.ok(disk.student_int8 < 0.6 * disk.student, JSON.stringify(disk));
  assert.ok(disk.student_int8 < 1.2 * out.parameters.student, JSON.stringify(out));
  assert.equal(out.parameters.student_int8, out.parameters.student);
  assert.ok(out["latency, 1 x 128 tokens"].student_int8 > 0);
});
