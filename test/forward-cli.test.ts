// `distilbert forward` end to end: outputs and gradients equal to Hugging Face's fixtures, and
// bad input reported in one line with exit code 1.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { SafetensorsFile, type TensorToWrite, writeSafetensors } from "../src/io/safetensors.js";
import { MODEL_FIXTURES, maxAbsDiff } from "./models-fixtures.js";

const MAIN = join(import.meta.dirname, "..", "src", "cli", "main.js");
const work = mkdtempSync(join(tmpdir(), "distilbert-forward-"));
after(() => rmSync(work, { recursive: true }));

function forward(args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [MAIN, "forward", "--backend", "reference", ...args], {
    encoding: "utf8",
  });
  return { status: result.status, stderr: result.stderr };
}

/** Copies tensors of `file` (all, or those `keep` accepts) into a new safetensors file. */
function rewrite(
  file: SafetensorsFile,
  path: string,
  keep: (name: string) => string | null = (name) => name,
  extra: Record<string, TensorToWrite> = {},
): void {
  const tensors: Record<string, TensorToWrite> = {};
  for (const name of file.names()) {
    const renamed = keep(name);
    if (renamed === null) continue;
    const { dtype, shape } = file.info(name);
    tensors[renamed] =
      dtype === "I64"
        ? { dtype: "I64", shape, data: file.int32(name) }
        : { dtype: "F32", shape, data: file.float32(name) };
  }
  writeSafetensors(path, { ...tensors, ...extra });
}

for (const name of ["bert-mlm", "distilbert-qa", "distilbert-multiple-choice"]) {
  test(`forward on ${name} writes Hugging Face's outputs`, () => {
    const dir = join(MODEL_FIXTURES, name);
    const out = join(work, `${name}.safetensors`);
    const result = forward([
      ...["--model", dir, "--inputs", join(dir, "io.safetensors"), "--out", out],
      ...["--hidden-states", "--attentions"],
    ]);
    assert.equal(result.status, 0, result.stderr);
    const expected = SafetensorsFile.open(join(dir, "io.safetensors"));
    const ours = SafetensorsFile.open(out);
    for (const tensor of expected.names()) {
      if (tensor.startsWith("label.") || expected.info(tensor).dtype !== "F32") continue;
      assert.deepEqual(ours.info(tensor).shape, expected.info(tensor).shape, tensor);
      const diff = maxAbsDiff(ours.float32(tensor), expected.float32(tensor));
      assert.ok(diff <= 1e-4, `${tensor}: ${diff}`);
    }
    assert.deepEqual(ours.info("loss").shape, [1]);
  });
}

test("forward --grads writes PyTorch's gradients under Hugging Face keys", () => {
  const dir = join(MODEL_FIXTURES, "distilbert-train-step");
  const inputs = join(work, "train-step-in.safetensors");
  const io = SafetensorsFile.open(join(dir, "io.safetensors"));
  rewrite(io, inputs, (name) =>
    name === "labels" ? "label.labels" : name === "logits" ? null : name,
  );
  const grads = join(work, "grads.safetensors");
  const result = forward([
    ...["--model", dir, "--inputs", inputs, "--out", join(work, "train-step-out.safetensors")],
    ...["--grads", grads],
  ]);
  assert.equal(result.status, 0, result.stderr);
  const expected = SafetensorsFile.open(join(dir, "grads.safetensors"));
  const ours = SafetensorsFile.open(grads);
  assert.deepEqual(ours.names().sort(), expected.names().sort());
  for (const name of expected.names()) {
    const reference = expected.float32(name);
    const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const diff = maxAbsDiff(ours.float32(name), reference);
    assert.ok(diff <= Math.max(1e-3 * scale, 1e-9), `${name}: ${diff} (scale ${scale})`);
  }
});

function modelWith(edit: (name: string) => string | null, extra: Record<string, TensorToWrite>) {
  const source = join(MODEL_FIXTURES, "distilbert-seqcls");
  const dir = mkdtempSync(join(work, "model-"));
  copyFileSync(join(source, "config.json"), join(dir, "config.json"));
  rewrite(
    SafetensorsFile.open(join(source, "model.safetensors")),
    join(dir, "model.safetensors"),
    edit,
    extra,
  );
  return dir;
}

function assertOneLineError(result: { status: number | null; stderr: string }, pattern: RegExp) {
  assert.equal(result.status, 1);
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], /^distilbert: /);
  assert.match(lines[0], pattern);
}

test("bad checkpoints and inputs give a one-line error and exit code 1", () => {
  const inputs = join(MODEL_FIXTURES, "distilbert-seqcls", "io.safetensors");
  const out = join(work, "bad.safetensors");
  const missing = modelWith((name) => (name === "classifier.bias" ? null : name), {});
  assertOneLineError(
    forward(["--model", missing, "--inputs", inputs, "--out", out]),
    /no tensor 'classifier\.bias'/,
  );
  const wrongShape = modelWith((name) => name, {
    "pre_classifier.weight": { dtype: "F32", shape: [64, 32], data: new Float32Array(64 * 32) },
  });
  assertOneLineError(
    forward(["--model", wrongShape, "--inputs", inputs, "--out", out]),
    /'pre_classifier\.weight'.*\[64, 32\].*\[64, 64\]/,
  );
  const noIds = join(work, "no-ids.safetensors");
  rewrite(SafetensorsFile.open(inputs), noIds, (name) => (name === "input_ids" ? null : name));
  assertOneLineError(
    forward([
      "--model",
      join(MODEL_FIXTURES, "distilbert-seqcls"),
      "--inputs",
      noIds,
      "--out",
      out,
    ]),
    /no 'input_ids'/,
  );
  assertOneLineError(forward(["--inputs", inputs, "--out", out]), /needs --model/);
});
