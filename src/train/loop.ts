// The one training loop, for fine-tuning, masked-LM pretraining and both distillations. It owns
// what every run shares: the state and its RNG, the schedule (fixed, or planned from the first
// step's time under a time budget), gradient accumulation, clipping, the AdamW step, evaluation
// with the best model kept and early stopping, crash-safe checkpoints and exact resume (refused
// when the settings that fix the run changed) through a RunStore. A task brings only its batches
// and its step. No Node module here, so that the loop can run in a browser too.

import { UserError } from "../errors.js";
import { Rng } from "../models/rng.js";
import type { Parameter } from "../models/types.js";
import type { Backend } from "../tensor/backend.js";
import type { CheckpointContents, LoadedCheckpoint, TrainerState } from "./checkpoint.js";
import { AdamW, clipGradNorm, scaleGradients } from "./optimizer.js";
import { type Reporter, silentReporter } from "./reporter.js";
import { learningRate, type Schedule, type ScheduleKind, warmupStepsFor } from "./schedule.js";
import { higherIsBetter } from "./tasks.js";

/** What one batch's forward and backward gave. */
export interface StepLoss {
  loss: number;
  /** The loss's named parts (ce, mlm, cos; soft, hard); empty for a single loss. */
  parts: Record<string, number>;
  examples: number;
  tokens: number;
}

export interface TrainedModel {
  readonly backend: Backend;
  readonly parameters: Parameter[];
  enableGradients(): void;
  zeroGradients(): void;
}

export type Settings = Record<string, number | string | boolean>;

export interface LoopTask<Batch> {
  model: TrainedModel;
  /** Epoch `epoch`'s batches: a function of the seed and the epoch alone, so resume sees them again. */
  epochBatches(epoch: number): Batch[];
  /** One batch's forward and backward, its gradients added into param.grad; randomness from `rng`. */
  step(batch: Batch, rng: Rng): StepLoss;
  /** Metrics on held-out data; null: no evaluation, the last model is the result. */
  evaluate: (() => Record<string, number>) | null;
  /** Writes the model as a Hugging Face folder into a directory. */
  writeFolder(dir: string): void;
  /** The task's settings that fix the run (data, batch size, loss weights). */
  settings: Settings;
}

/**
 * Where a run keeps what it makes: checkpoints, the evaluation log and the resulting model (on
 * disk: run-store.ts's folderStore), so that the loop itself needs no file system.
 */
export interface RunStore {
  /** Names the place in messages. */
  where: string;
  /** Readies the store for a new run, or for one resumed at `resumedStep`. */
  begin(resumedStep: number | null): void;
  checkpoint(contents: CheckpointContents): void;
  evaluation(record: Record<string, number>): void;
  /** Writes the run's model (the best so far, or the last) with `writeModel`. */
  result(writeModel: (dir: string) => void): void;
}

export interface LoopOptions {
  epochs: number;
  /** Optimizer steps; null: `epochs` epochs, or with a time budget as many as it allows. */
  steps: number | null;
  /** Seconds of training; the run stops when they are spent even if steps remain. */
  timeBudget: number | null;
  gradAccum: number;
  lr: number;
  schedule: ScheduleKind;
  warmupRatio: number;
  weightDecay: number;
  /** Decay biases and LayerNorm weights too. */
  decayAll: boolean;
  adamEps: number;
  maxGradNorm: number;
  seed: number;
  /** Evaluate every N steps (and at the end); null: at the end of every epoch. */
  evalEvery: number | null;
  /** Stop after this many evaluations without improvement. */
  earlyStopping: number | null;
  /** The metric that picks the best model. */
  metric: string;
  /** Write a checkpoint every N steps (and always at the end). */
  saveEvery: number | null;
  store: RunStore;
}

export interface StepRecord {
  step: number;
  loss: number;
  parts: Record<string, number>;
  lr: number;
  gradNorm: number;
}

export interface EvaluationRecord {
  step: number;
  epoch: number;
  metrics: Record<string, number>;
}

export interface LoopResult {
  steps: StepRecord[];
  evaluations: EvaluationRecord[];
  bestMetric: number | null;
  bestStep: number | null;
  stoppedEarly: boolean;
  /** Planned steps (from the time budget when no step count was given). */
  totalSteps: number;
  /** Steps done when the run ended (fewer than planned when the time budget ran out). */
  finalStep: number;
  /** Seconds spent in training steps (evaluation and saving excluded). */
  trainSeconds: number;
}

/** Refuses to resume a run whose settings differ from the checkpoint's. */
export function checkSameSettings(saved: Settings, now: Settings): void {
  const differing = Object.keys(now).filter((key) => saved[key] !== now[key]);
  if (differing.length > 0) {
    const details = differing.map((key) => `${key} ${saved[key]} -> ${now[key]}`).join(", ");
    throw new UserError(
      `cannot resume: the checkpoint was made with other settings (${details}); resume with the same options and data`,
    );
  }
}

export function runLoop<Batch>(
  task: LoopTask<Batch>,
  options: LoopOptions,
  reporter: Reporter = silentReporter,
  resume: LoadedCheckpoint | null = null,
): LoopResult {
  const { model } = task;
  let batches = task.epochBatches(resume?.state.epoch ?? 0);
  // Every epoch has as many batches: only their order changes.
  const batchesPerEpoch = batches.length;
  const stepsPerEpoch = Math.ceil(batchesPerEpoch / options.gradAccum);
  const fixedSteps =
    options.steps ?? (options.timeBudget === null ? stepsPerEpoch * options.epochs : null);
  const settings: Settings = {
    ...task.settings,
    epochs: options.epochs,
    gradAccum: options.gradAccum,
    seed: options.seed,
    lr: options.lr,
    schedule: options.schedule,
    warmupRatio: options.warmupRatio,
    weightDecay: options.weightDecay,
    ...(fixedSteps === null ? {} : { totalSteps: fixedSteps }),
  };
  if (resume) checkSameSettings(resume.state.settings, settings);
  // A time budget's plan is made once, by the first run, and kept by its resumptions.
  let totalSteps = fixedSteps ?? Number(resume?.state.settings.totalSteps ?? Number.NaN);
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
  const optimizer = new AdamW(model.backend, model.parameters, {
    weightDecay: options.weightDecay,
    decayAll: options.decayAll,
    eps: options.adamEps,
  });
  const { store } = options;
  store.begin(resume ? state.step : null);
  if (resume) optimizer.restore(state.step, (name) => resume.optimizer.float32(name));
  const rng = Rng.fromState(state.rng);
  const result: LoopResult = {
    steps: [],
    evaluations: [],
    bestMetric: state.bestMetric,
    bestStep: state.bestStep,
    stoppedEarly: false,
    totalSteps,
    finalStep: state.step,
    trainSeconds: 0,
  };
  const planSchedule = (steps: number): Schedule => {
    totalSteps = steps;
    state.settings.totalSteps = steps;
    result.totalSteps = steps;
    return {
      kind: options.schedule,
      peakLr: options.lr,
      warmupSteps: warmupStepsFor(steps, options.warmupRatio),
      totalSteps: steps,
    };
  };
  let schedule = Number.isNaN(totalSteps) ? null : planSchedule(totalSteps);
  const better = higherIsBetter(options.metric);
  let lastSaved = resume ? state.step : -1;

  const save = () => {
    state.rng = rng.state();
    store.checkpoint({ state, writeModel: task.writeFolder, optimizerState: optimizer.moments() });
    lastSaved = state.step;
  };

  const runEvaluation = (evaluate: () => Record<string, number>) => {
    const metrics = evaluate();
    const value = metrics[options.metric];
    if (value === undefined) {
      throw new UserError(
        `no metric '${options.metric}' here; choose one of ${Object.keys(metrics).join(", ")}`,
      );
    }
    const epoch = state.epoch + state.batchInEpoch / batchesPerEpoch;
    result.evaluations.push({ step: state.step, epoch, metrics });
    store.evaluation({ step: state.step, epoch, ...metrics });
    const shown = Object.entries(metrics)
      .map(([name, v]) => `${name} ${v.toFixed(4)}`)
      .join(", ");
    reporter.message(`eval at step ${state.step} (epoch ${epoch.toFixed(2)}): ${shown}`);
    const best = state.bestMetric;
    if (best === null || (better ? value > best : value < best)) {
      state.bestMetric = value;
      state.bestStep = state.step;
      state.evaluationsWithoutImprovement = 0;
      store.result(task.writeFolder);
      reporter.message(`best ${options.metric} so far: model saved to ${store.where}`);
    } else {
      state.evaluationsWithoutImprovement += 1;
    }
    result.bestMetric = state.bestMetric;
    result.bestStep = state.bestStep;
    if (
      options.earlyStopping !== null &&
      state.evaluationsWithoutImprovement >= options.earlyStopping
    ) {
      result.stoppedEarly = true;
      reporter.message(
        `early stopping: ${options.earlyStopping} evaluations without a better ${options.metric}`,
      );
    }
  };

  // The moments are training state: given back to the backend however the run ends.
  try {
    model.enableGradients();
    model.zeroGradients();
    reporter.start(Number.isNaN(totalSteps) ? 1 : totalSteps, state.step);
    if (schedule === null) {
      // A process's first step is slow (compilation, first allocations): a throw-away step (its
      // own randomness, gradients discarded) first, so that the plan times a representative one.
      const started = performance.now();
      task.step(batches[0], new Rng(options.seed, 1));
      model.zeroGradients();
      result.trainSeconds += (performance.now() - started) / 1000;
    }
    let examples = 0;
    let tokens = 0;
    while (Number.isNaN(totalSteps) || state.step < totalSteps) {
      if (state.batchInEpoch >= batches.length) {
        state.epoch += 1;
        state.batchInEpoch = 0;
        batches = task.epochBatches(state.epoch);
      }
      const started = performance.now();
      const micro = Math.min(options.gradAccum, batches.length - state.batchInEpoch);
      let loss = 0;
      const parts: Record<string, number> = {};
      for (let k = 0; k < micro; k++) {
        const out = task.step(batches[state.batchInEpoch + k], rng);
        loss += out.loss / micro;
        for (const [name, value] of Object.entries(out.parts)) {
          parts[name] = (parts[name] ?? 0) + value / micro;
        }
        examples += out.examples;
        tokens += out.tokens;
      }
      if (micro > 1) scaleGradients(model.parameters, 1 / micro);
      const gradNorm = clipGradNorm(model.backend, model.parameters, options.maxGradNorm);
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
      model.zeroGradients();
      state.step += 1;
      state.batchInEpoch += micro;
      result.trainSeconds += (performance.now() - started) / 1000;
      result.steps.push({ step: state.step, loss, parts, lr, gradNorm });
      const seconds = Math.max(1e-9, result.trainSeconds);
      reporter.step({
        step: state.step,
        totalSteps,
        loss,
        parts,
        lr,
        examplesPerSecond: examples / seconds,
        tokensPerSecond: tokens / seconds,
      });
      const last = state.step === totalSteps;
      const outOfTime = options.timeBudget !== null && result.trainSeconds >= options.timeBudget;
      const epochDone = state.batchInEpoch >= batches.length;
      if (
        task.evaluate !== null &&
        (options.evalEvery !== null
          ? state.step % options.evalEvery === 0 || last || outOfTime
          : epochDone || last || outOfTime)
      ) {
        runEvaluation(task.evaluate);
      }
      if ((options.saveEvery !== null && state.step % options.saveEvery === 0) || last) save();
      if (result.stoppedEarly) break;
      if (outOfTime) {
        if (!last)
          reporter.message(`time budget of ${options.timeBudget} s spent at step ${state.step}`);
        break;
      }
    }
    if (lastSaved !== state.step) save();
    if (task.evaluate === null) store.result(task.writeFolder);
  } finally {
    optimizer.dispose();
  }
  reporter.stop();
  result.finalStep = state.step;
  return result;
}
