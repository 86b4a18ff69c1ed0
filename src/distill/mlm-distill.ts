// The distillation loop on masked-LM data: per step a batch of rows (a seeded order), masked
// afresh, the teacher's and the student's forward, the triple loss, the student's backward,
// clipping and AdamW on a warm-up + linear-decay schedule. Checkpoints are the trainer's (atomic
// directories); a resumed run continues with exactly the same batches, masks and dropout.

import { mkdirSync } from "node:fs";
import { UserError } from "../errors.js";
import {
  type LoadedCheckpoint,
  removeIncompleteCheckpoints,
  type TrainerState,
  writeCheckpoint,
} from "../train/checkpoint.js";
import { AdamW, clipGradNorm } from "../train/optimizer.js";
import { Rng } from "../train/rng.js";
import { learningRate, type Schedule, warmupStepsFor } from "../train/schedule.js";
import type { DistillLossWeights } from "./losses.js";
import { type Masker, type PackedRows, RowSchedule } from "./mlm-data.js";
import { mlmDistillStep } from "./mlm-step.js";
import { type DistillReporter, silentDistillReporter } from "./progress.js";
import { checkResumable } from "./resume.js";
import type { RowMaskedLM } from "./row-mlm.js";

export interface MlmDistillOptions {
  batchSize: number;
  lr: number;
  warmupRatio: number;
  maxGradNorm: number;
  weightDecay: number;
  seed: number;
  /** Optimizer steps; or null with a time budget, when the count is planned from the first step. */
  steps: number | null;
  /** Seconds of training; the run stops when they are spent even if steps remain. */
  timeBudget: number | null;
  saveEvery: number | null;
  loss: DistillLossWeights;
  /** Recorded so a resumed run is refused if the masking changed. */
  mlmSmoothing: number;
  outDir: string;
}

export interface MlmDistillData {
  rows: PackedRows;
  masker: Masker;
  padTokenId: number;
}

export interface DistillStepRecord {
  step: number;
  total: number;
  ce: number;
  mlm: number;
  cos: number;
  lr: number;
  gradNorm: number;
}

export interface MlmDistillResult {
  steps: DistillStepRecord[];
  totalSteps: number;
  /** Steps done when the run ended (fewer than totalSteps when the time budget ran out). */
  finalStep: number;
  trainSeconds: number;
}

function settingsOf(options: MlmDistillOptions, rows: PackedRows) {
  const { loss } = options;
  return {
    batchSize: options.batchSize,
    seqLen: rows.seqLen,
    rows: rows.count,
    seed: options.seed,
    lr: options.lr,
    warmupRatio: options.warmupRatio,
    weightDecay: options.weightDecay,
    temperature: loss.temperature,
    alphaCe: loss.alphaCe,
    alphaMlm: loss.alphaMlm,
    alphaCos: loss.alphaCos,
    alphaMse: loss.alphaMse,
    ceMaskedOnly: loss.ceMaskedOnly,
    mlmSmoothing: options.mlmSmoothing,
  };
}

export function distillMlm(
  teacher: RowMaskedLM,
  student: RowMaskedLM,
  data: MlmDistillData,
  options: MlmDistillOptions,
  writeFolder: (dir: string) => void,
  reporter: DistillReporter = silentDistillReporter,
  resume: LoadedCheckpoint | null = null,
): MlmDistillResult {
  if (options.steps === null && options.timeBudget === null) {
    throw new UserError("give --steps or --time-budget");
  }
  const { rows } = data;
  const seq = rows.seqLen;
  const batch = options.batchSize;
  const order = new RowSchedule(rows, batch, options.seed);
  const settings = settingsOf(options, rows);
  if (resume) checkResumable(resume.state.settings, settings);
  let totalSteps =
    options.steps ?? (resume ? Number(resume.state.settings.totalSteps) : Number.NaN);
  const state: TrainerState = resume?.state ?? {
    step: 0,
    epoch: 0,
    batchInEpoch: 0,
    rng: new Rng(options.seed, 0).state(),
    bestMetric: null,
    bestStep: null,
    evaluationsWithoutImprovement: 0,
    settings: { ...settings, totalSteps },
  };
  const optimizer = new AdamW(student.backend, student.parameters, {
    weightDecay: options.weightDecay,
    eps: 1e-6,
  });
  if (resume) optimizer.restore(state.step, (name) => resume.optimizer.float32(name));
  mkdirSync(options.outDir, { recursive: true });
  removeIncompleteCheckpoints(options.outDir);
  const rng = Rng.fromState(state.rng);
  const save = () => {
    state.rng = rng.state();
    writeCheckpoint(options.outDir, {
      state,
      writeModel: writeFolder,
      optimizerState: optimizer.moments(),
    });
  };

  const result: MlmDistillResult = { steps: [], totalSteps, finalStep: 0, trainSeconds: 0 };
  const planSchedule = (steps: number): Schedule => {
    totalSteps = steps;
    state.settings.totalSteps = steps;
    result.totalSteps = steps;
    return {
      kind: "linear",
      peakLr: options.lr,
      warmupSteps: warmupStepsFor(steps, options.warmupRatio),
      totalSteps: steps,
    };
  };
  let schedule = Number.isNaN(totalSteps) ? null : planSchedule(totalSteps);

  student.enableGradients();
  student.zeroGradients();
  reporter.start(Number.isNaN(totalSteps) ? 1 : totalSteps, state.step);
  let lastSaved = resume ? state.step : -1;
  if (schedule === null) {
    // A process's first step is slow (compilation, first allocations): a throw-away step (its
    // own masks, gradients discarded) first, so the planning times a representative one.
    const started = performance.now();
    const warmup = data.masker.mask(order.batch(0), data.padTokenId, new Rng(options.seed, 1));
    mlmDistillStep(teacher, student, warmup, { batch, seq }, options.loss, 0);
    student.zeroGradients();
    result.trainSeconds += (performance.now() - started) / 1000;
  }
  while (Number.isNaN(totalSteps) || state.step < totalSteps) {
    const started = performance.now();
    const masked = data.masker.mask(order.batch(state.step), data.padTokenId, rng);
    const loss = mlmDistillStep(
      teacher,
      student,
      masked,
      { batch, seq },
      options.loss,
      rng.uint32(),
    );
    const gradNorm = clipGradNorm(student.backend, student.parameters, options.maxGradNorm);
    if (schedule === null) {
      // A time budget: as many steps as the first one's time allows in what remains of it.
      const seconds = (performance.now() - started) / 1000;
      const remaining = (options.timeBudget as number) - result.trainSeconds - seconds;
      schedule = planSchedule(1 + Math.max(0, Math.floor(remaining / seconds)));
      reporter.message(
        `a step takes ${seconds.toFixed(2)} s: planning ${totalSteps} steps for ${options.timeBudget} s`,
      );
    }
    const lr = learningRate(schedule, state.step);
    optimizer.update(lr);
    student.zeroGradients();
    state.step += 1;
    state.batchInEpoch = state.step % order.batchesPerEpoch;
    state.epoch = Math.floor(state.step / order.batchesPerEpoch);
    result.trainSeconds += (performance.now() - started) / 1000;
    result.steps.push({
      step: state.step,
      total: loss.total,
      ce: loss.ce,
      mlm: loss.mlm,
      cos: loss.cos,
      lr,
      gradNorm,
    });
    reporter.step({
      step: state.step,
      totalSteps,
      total: loss.total,
      parts: { ce: loss.ce, mlm: loss.mlm, cos: loss.cos },
      lr,
      tokensPerSecond: (result.steps.length * batch * seq) / result.trainSeconds,
    });
    if (options.saveEvery !== null && state.step % options.saveEvery === 0) {
      save();
      lastSaved = state.step;
    }
    if (options.timeBudget !== null && result.trainSeconds >= options.timeBudget) {
      if (state.step < totalSteps) {
        reporter.message(`time budget of ${options.timeBudget} s spent at step ${state.step}`);
      }
      break;
    }
  }
  if (lastSaved !== state.step) save();
  writeFolder(options.outDir);
  reporter.stop();
  result.finalStep = state.step;
  return result;
}
