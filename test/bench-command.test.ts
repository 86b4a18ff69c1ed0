import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { benchTraining } from "../src/cli/commands/bench.js";
import { loadModel } from "../src/models/index.js";
import { ReferenceBackend } from "../src/tensor/reference.js";

const CLI = "dist/src/cli/main.js";

const FIXTURES = "test/fixtures/models";

test("the training step gives each head labels of its shape", () => {
  const heads = ["bert-mlm", "distilbert-mlm", "distilbert-seqcls", "distilbert-seqcls-regression"];
  for (const name of [...heads, "distilbert-tokcls", "distilbert-qa"]) {
    const model = loadModel(`${FIXTURES}/${name}`, { backend: new ReferenceBackend() });
    const result = benchTraining(model, 2, 8, 1);
    assert.equal(result.step, "train", name);
    assert.ok(result.median_ms > 0, name);
  }
});

test("the training step refuses a model without a loss it can feed", () => {
  const model = loadModel(`${FIXTURES}/distilbert-base-model`, { backend: new ReferenceBackend() });
  assert.throws(
    () => benchTraining(model, 2, 8, 1),
    /does not support the base head; use --train none/,
  );
});

test("--backend native fails with one line when the addon does not load", () => {
  const run = spawnSync(
    process.execPath,
    [
      CLI,
      "bench",
      "--model",
      "test/fixtures/models/bert-mlm",
      "--backend",
      "native",
      "--train",
      "none",
    ],
    {
      encoding: "utf8",
      env: { ...process.env, DISTILBERT_NATIVE_PATH: "/nonexistent/addon.node" },
    },
  );
  assert.equal(run.status, 1);
  assert.match(run.stderr, /native backend not available: /);
  assert.equal(run.stdout, "");
});
