import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Checkpoint, SafetensorsFile, writeSafetensors } from "../src/io/safetensors.js";

const CLI = "dist/src/cli/main.js";
const FIXTURE = "test/fixtures/models/distill-student-init";

test("init-student then eval-mlm --json on the fixture's masked batch", () => {
  const out = join(mkdtempSync(join(tmpdir(), "distill-cli-")), "student");
  execFileSync("node", [
    CLI,
    "init-student",
    "--teacher",
    "test/fixtures/models/bert-mlm",
    "--layers",
    "2",
    "--out",
    out,
  ]);
  const made = Checkpoint.open(out);
  const expected = Checkpoint.open(FIXTURE);
  for (const name of expected.names()) assert.deepEqual(made.float32(name), expected.float32(name));
  const json = execFileSync("node", [
    CLI,
    "eval-mlm",
    "--model",
    out,
    "--inputs",
    `${FIXTURE}/io.safetensors`,
    "--json",
    "--backend",
    "reference",
  ]).toString();
  const score = JSON.parse(json);
  assert.deepEqual(Object.keys(score), ["accuracy", "loss", "tokens"]);
  assert.ok(Math.abs(score.loss - 7.017842769622803) < 1e-4 * 7.02);
});

test("eval-mlm --inputs uses token_type_ids when given and refuses labels outside the vocabulary", () => {
  const teacher = "test/fixtures/models/bert-mlm";
  const io = SafetensorsFile.open(`${teacher}/io.safetensors`);
  const shape = io.info("input_ids").shape;
  const tensor = (name: string) => ({ dtype: "I64" as const, shape, data: io.int32(name) });
  const dir = mkdtempSync(join(tmpdir(), "eval-mlm-"));
  const inputs = {
    input_ids: tensor("input_ids"),
    attention_mask: tensor("attention_mask"),
    token_type_ids: tensor("token_type_ids"),
    labels: tensor("label.labels"),
  };
  writeSafetensors(join(dir, "masked.safetensors"), inputs);
  const args = ["eval-mlm", "--model", teacher, "--inputs", join(dir, "masked.safetensors")];
  const score = JSON.parse(execFileSync("node", [CLI, ...args, "--json"]).toString());
  const meta = JSON.parse(readFileSync(`${teacher}/meta.json`, "utf8"));
  assert.ok(Math.abs(score.loss - meta.loss) < 1e-4 * meta.loss, `${score.loss} vs ${meta.loss}`);

  const labels = Int32Array.from(io.int32("label.labels"));
  labels[labels.findIndex((l) => l !== -100)] = 1000;
  writeSafetensors(join(dir, "masked.safetensors"), {
    ...inputs,
    labels: { dtype: "I64", shape, data: labels },
  });
  const bad = spawnSync("node", [CLI, ...args], { encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /labels\[\d+\] = 1000 is neither -100 nor a token id below .* 1000\n$/);
});

test("bad options are one-line errors", () => {
  const run = (...args: string[]) => spawnSync("node", [CLI, ...args], { encoding: "utf8" });
  const noLayers = run("distill", "--teacher", "x", "--out", "y", "--corpus", "z", "--steps", "x");
  assert.equal(noLayers.status, 1);
  assert.match(noLayers.stderr, /^distilbert: --steps must be a whole number/);
  const both = run("eval-mlm", "--model", FIXTURE);
  assert.match(both.stderr, /^distilbert: eval-mlm needs one of --corpus FILE or --inputs FILE\n$/);
  const layers = run(
    "init-student",
    "--teacher",
    "test/fixtures/models/bert-mlm",
    "--layers",
    "9",
    "--out",
    "/tmp/never",
  );
  assert.match(layers.stderr, /between 1 and 4 layers/);
  const taskBudget = run(
    "distill",
    "--task",
    "text-classification",
    "--teacher",
    "x",
    "--out",
    "y",
    "--time-budget",
    "10",
  );
  assert.equal(taskBudget.status, 1);
  assert.match(taskBudget.stderr, /^distilbert: --time-budget is for masked-LM distillation/);
});
