// The fine-tuning loop: seeded length-grouped batches, forward/backward with seeded dropout,
// gradient accumulation, clipping, AdamW on a schedule; evaluation that keeps the best model;
// checkpoints from which a resumed run continues exactly as if never stopped.

import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import type { Model } from "../models/types.js";
import { collate, epochBatches } from "./batching.js";
import {
  type LoadedCheckpoint,
  removeIncompleteCheckpoints,
  type TrainerState,
  writeCheckpoint,
} from "./checkpoint.js";
import { evaluate } from "./evaluate.js";
import type { Dataset } from "./features.js";
import type { LabelSet } from "./labels.js";
import { AdamW, clipGradNorm, scaleGradients } from "./optimizer.js";
import { type Reporter, silentReporter } from "./progress.js";
import { Rng } from "./rng.js";
import { learningRate, type Schedule, type ScheduleKind, warmupStepsFor } from "./schedule.js";
import { higherIsBetter, type TaskKind } from "./tasks.js";

export const EVAL_LOG_FILE = "eval_log.jsonl";

export interface TrainerOptions {
  task: TaskKind;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  /** Decay biases and LayerNorm weights too. */
  decayAll: boolean;
  warmupRatio: number;
  schedule: ScheduleKind;
  gradAccum: number;
  maxGradNorm: number;
  seed: number;
  /** Stop after this many optimizer steps instead of after `epochs`. */
  maxSteps: number | null;
  /** Evaluate every N steps (and at the end); null: at the end of every epoch. */
  evalEvery: number | null;
  /** Stop after this many evaluations without improvement. */
  earlyStopping: number | null;
  metric: string;
  /** Write a checkpoint every N steps (and always at the end). */
  saveEvery: number | null;
  outDir: string;
}

export interface TrainerInputs {
  model: Model;
  /** Writes the model as a Hugging Face folder into a directory. */
  writeFolder(dir: string): void;
  train: Dataset;
  eval: Dataset | null;
  labels: LabelSet | null;
  padId: number;
  reporter?: Reporter;
}

export interface StepRecord {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
}

export interface EvaluationRecord {
  step: number;
  epoch: number;
  metrics: Record<string, number>;
}

export interface TrainResult {
  steps: StepRecord[];
  evaluations: EvaluationRecord[];
  bestMetric: number | null;
  bestStep: number | null;
  stoppedEarly: boolean;
  totalSteps: number;
  /** Seconds spent in training steps (evaluation and saving excluded). */
  trainSeconds: number;
}

/** The settings a resumed run must share with the run it continues. */
function settingsOf(options: TrainerOptions, trainFeatures: number) {
  return {
    task: options.task,
    epochs: options.epochs,
    batchSize: options.batchSize,
    gradAccum: options.gradAccum,
    seed: options.seed,
    lr: options.lr,
    schedule: options.schedule,
    warmupRatio: options.warmupRatio,
    maxSteps: options.maxSteps ?? -1,
    trainFeatures,
  };
}

function checkSameSettings(saved: TrainerState["settings"], now: TrainerState["settings"]) {
  const differing = Object.keys(now).filter((key) => saved[key] !== now[key]);
  if (differing.length > 0) {
    const details = differing.map((key) => `${key} ${saved[key]} -> ${now[key]}`).join(", ");
    throw new UserError(
      `cannot resume: the checkpoint was made with other settings (${details}); resume with the same options and data`,
    );
  }
}

/** Keeps only the evaluations a resumed run has already made (a killed run may have logged more). */
function trimEvalLog(path: string, step: number): void {
  if (!existsSync(path)) return;
  const kept = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "" && (JSON.parse(line) as { step: number }).step <= step);
  writeFileAtomic(path, kept.map((line) => `${line}\n`).join(""));
}

export function train(
  inputs: TrainerInputs,
  options: TrainerOptions,
  resume: LoadedCheckpoint | null = null,
): TrainResult {
  const { model, train: trainData, eval: evalData, labels, padId } = inputs;
  const reporter = inputs.reporter ?? silentReporter;
  const lengths = trainData.features.map((f) => f.length);
  const batchesPerEpoch = Math.ceil(lengths.length / options.batchSize);
  const stepsPerEpoch = Math.ceil(batchesPerEpoch / options.gradAccum);
  const totalSteps = options.maxSteps ?? stepsPerEpoch * options.epochs;
  const schedule: Schedule = {
    kind: options.schedule,
    peakLr: options.lr,
    warmupSteps: warmupStepsFor(totalSteps, options.warmupRatio),
    totalSteps,
  };
  const optimizer = new AdamW(model.backend, model.parameters, {
    weightDecay: options.weightDecay,
    decayAll: options.decayAll,
  });
  const settings = settingsOf(options, lengths.length);
  const state: TrainerState = resume?.state ?? {
    step: 0,
    epoch: 0,
    batchInEpoch: 0,
    rng: new Rng(options.seed, 0).state(),
    bestMetric: null,
    bestStep: null,
    evaluationsWithoutImprovement: 0,
    settings,
  };
  mkdirSync(options.outDir, { recursive: true });
  removeIncompleteCheckpoints(options.outDir);
  const evalLog = join(options.outDir, EVAL_LOG_FILE);
  if (resume) {
    checkSameSettings(resume.state.settings, settings);
    optimizer.restore(resume.state.step, (name) => resume.optimizer.float32(name));
    trimEvalLog(evalLog, resume.state.step);
  }
  const rng = Rng.fromState(state.rng);
  const result: TrainResult = {
    steps: [],
    evaluations: [],
    bestMetric: state.bestMetric,
    bestStep: state.bestStep,
    stoppedEarly: false,
    totalSteps,
    trainSeconds: 0,
  };
  const better = higherIsBetter(options.metric);
  let lastSaved = resume ? state.step : -1;

  const save = () => {
    state.rng = rng.state();
    writeCheckpoint(options.outDir, {
      state,
      writeModel: inputs.writeFolder,
      optimizerState: optimizer.moments(),
    });
    lastSaved = state.step;
  };

  const runEvaluation = (data: Dataset) => {
    const metrics = evaluate(model, data, options.task, labels, options.batchSize, padId);
    const value = metrics[options.metric];
    if (value === undefined) {
      throw new UserError(
        `no metric '${options.metric}' for ${options.task}; choose one of ${Object.keys(metrics).join(", ")}`,
      );
    }
    const epoch = state.epoch + state.batchInEpoch / batchesPerEpoch;
    const record = { step: state.step, epoch, metrics };
    result.evaluations.push(record);
    appendFileSync(evalLog, `${JSON.stringify({ step: record.step, epoch, ...metrics })}\n`);
    const improved =
      state.bestMetric === null || (better ? value > state.bestMetric : value < state.bestMetric);
    const shown = Object.entries(metrics)
      .map(([name, v]) => `${name} ${v.toFixed(4)}`)
      .join(", ");
    reporter.message(`eval at step ${state.step} (epoch ${epoch.toFixed(2)}): ${shown}`);
    if (improved) {
      state.bestMetric = value;
      state.bestStep = state.step;
      state.evaluationsWithoutImprovement = 0;
      inputs.writeFolder(options.outDir);
      reporter.message(`best ${options.metric} so far: model saved to ${options.outDir}`);
    } else {
      state.evaluationsWithoutImprovement += 1;
    }
    result.bestMetric = state.bestMetric;
    result.bestStep = state.bestStep;
  };

  model.enableGradients();
  model.zeroGradients();
  let batches = epochBatches(lengths, options.batchSize, options.seed, state.epoch);
  let examples = 0;
  reporter.start(totalSteps, state.step);
  while (state.step < totalSteps) {
    if (state.batchInEpoch >= batches.length) {
      state.epoch += 1;
      state.batchInEpoch = 0;
      batches = epochBatches(lengths, options.batchSize, options.seed, state.epoch);
    }
    const started = performance.now();
    const micro = Math.min(options.gradAccum, batches.length - state.batchInEpoch);
    let lossSum = 0;
    for (let k = 0; k < micro; k++) {
      const indices = batches[state.batchInEpoch + k];
      const batch = collate(
        indices.map((i) => trainData.features[i]),
        padId,
      );
      const outputs = model.forward(batch.inputs, batch.labels, {
        train: true,
        dropoutSeed: rng.uint32(),
      });
      if (outputs.loss === undefined) throw new Error("the model computed no loss from the labels");
      lossSum += outputs.loss;
      model.backward();
      examples += indices.length;
    }
    if (micro > 1) scaleGradients(model.parameters, 1 / micro);
    const gradNorm = clipGradNorm(model.backend, model.parameters, options.maxGradNorm);
    const lr = learningRate(schedule, state.step);
    optimizer.update(lr);
    model.zeroGradients();
    state.step += 1;
    state.batchInEpoch += micro;
    result.trainSeconds += (performance.now() - started) / 1000;
    const loss = lossSum / micro;
    result.steps.push({ step: state.step, loss, lr, gradNorm });
    reporter.step({
      step: state.step,
      totalSteps,
      loss,
      lr,
      examplesPerSecond: examples / Math.max(1e-9, result.trainSeconds),
    });
    const last = state.step === totalSteps;
    const epochDone = state.batchInEpoch >= batches.length;
    const evaluateNow =
      evalData !== null &&
      (options.evalEvery !== null
        ? state.step % options.evalEvery === 0 || last
        : epochDone || last);
    if (evaluateNow && evalData) {
      runEvaluation(evalData);
      if (
        options.earlyStopping !== null &&
        state.evaluationsWithoutImprovement >= options.earlyStopping
      ) {
        result.stoppedEarly = true;
        reporter.message(
          `early stopping: ${options.earlyStopping} evaluations without a better ${options.metric}`,
        );
      }
    }
    if ((options.saveEvery !== null && state.step % options.saveEvery === 0) || last) save();
    if (result.stoppedEarly) break;
  }
  if (lastSaved !== state.step) save();
  if (evalData === null) inputs.writeFolder(options.outDir);
  reporter.stop();
  return result;
}
