import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../src/models/index.js";
import { readCheckpoint, resolveCheckpoint } from "../src/train/checkpoint.js";
import { sentimentRows, temporaryDir, tinyModelFolder, writeJsonLines } from "./train-helpers.js";

const CLI = "dist/src/cli/main.js";
const modelDir = tinyModelFolder();
const dataDir = temporaryDir("crash-data");
const trainPath = writeJsonLines(join(dataDir, "train.jsonl"), sentimentRows(24, 3));
const evalPath = writeJsonLines(join(dataDir, "eval.jsonl"), sentimentRows(8, 4));

function args(outDir: string): string[] {
  return [
    CLI,
    "train",
    ...["--model", modelDir, "--task", "text-classification"],
    ...["--train", trainPath, "--eval", evalPath, "--out", outDir],
    ...["--max-steps", "6", "--batch-size", "4", "--lr", "1e-3", "--save-every", "2"],
    ...["--eval-every", "3", "--backend", "reference", "--seed", "5"],
  ];
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the CLI; when `killOn` appears in its stderr, SIGKILLs it. */
function runCli(argv: string[], env: Record<string, string> = {}, killOn?: string) {
  return new Promise<Finished>((resolve, reject) => {
    const child = spawn(process.execPath, argv, { env: { ...process.env, ...env } });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (killOn && stderr.includes(killOn)) child.kill("SIGKILL");
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stderr }));
  });
}

function losses(stderr: string): string[] {
  return [...stderr.matchAll(/^step (\d+)\/\d+ loss (\S+)/gm)].map((m) => `${m[1]}:${m[2]}`);
}

test("a run killed while writing a checkpoint keeps the previous one, and resumes exactly", async () => {
  const whole = await runCli(args(temporaryDir("crash-whole")));
  assert.equal(whole.code, 0, whole.stderr);
  assert.equal(losses(whole.stderr).length, 6);

  const outDir = temporaryDir("crash-killed");
  const killed = await runCli(
    args(outDir),
    { DISTILBERT_TEST_PAUSE_IN_CHECKPOINT: "4" },
    "checkpoint 4: paused while writing",
  );
  assert.equal(killed.signal, "SIGKILL", killed.stderr);
  // The half-written checkpoint is a .tmp directory; the previous one is complete and loads.
  assert.ok(existsSync(join(outDir, "checkpoint-4.tmp")));
  assert.ok(!existsSync(join(outDir, "checkpoint-4")));
  const previous = resolveCheckpoint(outDir);
  assert.equal(previous, join(outDir, "checkpoint-2"));
  assert.equal(readCheckpoint(previous).state.step, 2);
  assert.equal(loadModel(previous).architecture, "BertForSequenceClassification");

  const resumed = await runCli([...args(outDir), "--resume", outDir]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming from .*checkpoint-2 \(step 2\)/);
  assert.deepEqual(
    [...losses(killed.stderr).slice(0, 2), ...losses(resumed.stderr)],
    losses(whole.stderr),
  );
  assert.deepEqual(
    readdirSync(outDir).filter((name) => name.startsWith("checkpoint")),
    ["checkpoint-6"],
  );
});

test("resuming with other settings is refused with a clear message", async () => {
  const outDir = temporaryDir("crash-settings");
  assert.equal((await runCli(args(outDir))).code, 0);
  const changed = await runCli([...args(outDir), "--resume", outDir, "--batch-size", "2"]);
  assert.equal(changed.code, 1);
  assert.match(changed.stderr, /cannot resume: .*batchSize 4 -> 2/);
});
