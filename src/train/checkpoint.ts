// Training checkpoints that lose nothing and survive a kill: everything is written into
// DIR/checkpoint-N.tmp/, flushed, then the directory is renamed to DIR/checkpoint-N in one step;
// older checkpoints are deleted only after that. A kill at any moment leaves the previous
// checkpoint complete, and at worst a .tmp directory that resuming ignores.

import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { SafetensorsFile, type TensorToWrite, writeSafetensors } from "../io/safetensors.js";
import type { RngState } from "../models/rng.js";

export const TRAINER_STATE_FILE = "trainer_state.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";

/** Where training stands after `step` optimizer steps. */
export interface TrainerState {
  step: number;
  /** The epoch and the index of its next batch (batch orders are rebuilt from the seed). */
  epoch: number;
  batchInEpoch: number;
  /** The RNG that draws dropout seeds. */
  rng: RngState;
  bestMetric: number | null;
  bestStep: number | null;
  evaluationsWithoutImprovement: number;
  /** Settings that fix the data order and the schedule: resuming with others is refused. */
  settings: Record<string, number | string | boolean>;
}

/** Test hook: pause (so a test can kill the process) after writing part of checkpoint N. */
const PAUSE_ENV = "DISTILBERT_TEST_PAUSE_IN_CHECKPOINT";

function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function pauseForTest(step: number): void {
  if (process.env[PAUSE_ENV] !== String(step)) return;
  process.stderr.write(`checkpoint ${step}: paused while writing\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
}

export interface CheckpointContents {
  state: TrainerState;
  /** Writes the model folder (config, weights, tokenizer) into the directory given. */
  writeModel(dir: string): void;
  optimizerState: Record<string, Float32Array>;
}

export function checkpointPath(outDir: string, step: number): string {
  return join(outDir, `checkpoint-${step}`);
}

export function writeCheckpoint(outDir: string, contents: CheckpointContents): string {
  const { state } = contents;
  const final = checkpointPath(outDir, state.step);
  const temporary = `${final}.tmp`;
  rmSync(temporary, { recursive: true, force: true });
  mkdirSync(temporary, { recursive: true });
  contents.writeModel(temporary);
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, data] of Object.entries(contents.optimizerState)) {
    tensors[name] = { dtype: "F32", shape: [data.length], data };
  }
  writeSafetensors(join(temporary, OPTIMIZER_FILE), tensors);
  pauseForTest(state.step);
  writeFileAtomic(join(temporary, TRAINER_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  syncDirectory(temporary);
  if (existsSync(final)) rmSync(final, { recursive: true, force: true });
  renameSync(temporary, final);
  syncDirectory(outDir);
  for (const step of completeCheckpoints(outDir)) {
    if (step !== state.step) rmSync(checkpointPath(outDir, step), { recursive: true, force: true });
  }
  return final;
}

/** Steps of the complete checkpoints in DIR, ascending. */
export function completeCheckpoints(outDir: string): number[] {
  if (!existsSync(outDir)) return [];
  return readdirSync(outDir)
    .map((name) => /^checkpoint-(\d+)$/.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]))
    .filter((step) => existsSync(join(checkpointPath(outDir, step), TRAINER_STATE_FILE)))
    .sort((a, b) => a - b);
}

/** A checkpoint directory itself, or the latest complete checkpoint in a training output. */
export function resolveCheckpoint(dir: string): string {
  if (existsSync(join(dir, TRAINER_STATE_FILE))) return dir;
  const steps = completeCheckpoints(dir);
  if (steps.length === 0) {
    throw new UserError(
      `${dir} holds no complete checkpoint (checkpoint-N/ with ${TRAINER_STATE_FILE}): give a training output directory or a checkpoint`,
    );
  }
  return checkpointPath(dir, steps[steps.length - 1]);
}

export interface LoadedCheckpoint {
  dir: string;
  state: TrainerState;
  optimizer: SafetensorsFile;
}

export function readCheckpoint(dir: string): LoadedCheckpoint {
  const path = join(dir, TRAINER_STATE_FILE);
  let state: TrainerState;
  try {
    state = JSON.parse(readFileSync(path, "utf8")) as TrainerState;
  } catch (error) {
    throw new UserError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return { dir, state, optimizer: SafetensorsFile.open(join(dir, OPTIMIZER_FILE)) };
}

/** Removes checkpoint directories a killed run left half-written. */
export function removeIncompleteCheckpoints(outDir: string): void {
  if (!existsSync(outDir)) return;
  for (const name of readdirSync(outDir)) {
    if (/^checkpoint-\d+\.tmp$/.test(name)) rmSync(join(outDir, name), { recursive: true });
  }
}
