// Task-specific distillation: a fine-tuned teacher classifier teaches a student classifier on the
// task's training data. The loss is DistilBERT's soft-target term on the class logits,
// a_ce * T^2 * KL(softmax(t/T) || softmax(s/T)) (averaged over the examples), plus a_hard times the
// cross-entropy with the true labels (the place of the masked-LM term). Batches, AdamW, schedule and checkpoints are the trainer's.

import { mkdirSync } from "node:fs";
import type { Model } from "../models/types.js";
import { collate, epochBatches } from "../train/batching.js";
import {
  type LoadedCheckpoint,
  removeIncompleteCheckpoints,
  type TrainerState,
  writeCheckpoint,
} from "../train/checkpoint.js";
import type { Dataset } from "../train/features.js";
import { AdamW, clipGradNorm } from "../train/optimizer.js";
import { Rng } from "../train/rng.js";
import { learningRate, type Schedule, warmupStepsFor } from "../train/schedule.js";
import { distillLoss } from "./losses.js";
import type { DistillReporter } from "./progress.js";
import { checkResumable } from "./resume.js";

export interface TaskDistillOptions {
  epochs: number;
  /** Stop after this many steps instead of after `epochs`. */
  steps: number | null;
  batchSize: number;
  lr: number;
  warmupRatio: number;
  weightDecay: number;
  maxGradNorm: number;
  temperature: number;
  alphaCe: number;
  alphaHard: number;
  seed: number;
  saveEvery: number | null;
  outDir: string;
}

export interface TaskStepRecord {
  step: number;
  total: number;
  soft: number;
  hard: number;
  lr: number;
}

export function distillClassifier(
  teacher: Model,
  student: Model,
  train: Dataset,
  padId: number,
  options: TaskDistillOptions,
  writeFolder: (dir: string) => void,
  reporter: DistillReporter,
  resume: LoadedCheckpoint | null = null,
): { steps: TaskStepRecord[]; trainSeconds: number } {
  const lengths = train.features.map((f) => f.length);
  const batchesPerEpoch = Math.ceil(lengths.length / options.batchSize);
  const totalSteps = options.steps ?? batchesPerEpoch * options.epochs;
  const schedule: Schedule = {
    kind: "linear",
    peakLr: options.lr,
    warmupSteps: warmupStepsFor(totalSteps, options.warmupRatio),
    totalSteps,
  };
  const settings = {
    epochs: options.epochs,
    steps: totalSteps,
    batchSize: options.batchSize,
    lr: options.lr,
    warmupRatio: options.warmupRatio,
    temperature: options.temperature,
    alphaCe: options.alphaCe,
    alphaHard: options.alphaHard,
    seed: options.seed,
    trainFeatures: lengths.length,
  };
  if (resume) checkResumable(resume.state.settings, settings);
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
  const optimizer = new AdamW(student.backend, student.parameters, {
    weightDecay: options.weightDecay,
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
  const lossWeights = {
    temperature: options.temperature,
    alphaCe: options.alphaCe,
    alphaMlm: options.alphaHard,
    alphaCos: 0,
    alphaMse: 0,
    ceMaskedOnly: false,
  };
  const steps: TaskStepRecord[] = [];
  let trainSeconds = 0;
  let tokens = 0;
  let lastSaved = resume ? state.step : -1;
  let batches = epochBatches(lengths, options.batchSize, options.seed, state.epoch);
  student.enableGradients();
  student.zeroGradients();
  reporter.start(totalSteps, state.step);
  while (state.step < totalSteps) {
    if (state.batchInEpoch >= batches.length) {
      state.epoch += 1;
      state.batchInEpoch = 0;
      batches = epochBatches(lengths, options.batchSize, options.seed, state.epoch);
    }
    const started = performance.now();
    const indices = batches[state.batchInEpoch];
    const batch = collate(
      indices.map((i) => train.features[i]),
      padId,
    );
    const teacherLogits = Float32Array.from(teacher.forward(batch.inputs).logits as Float32Array);
    const studentLogits = student.forward(batch.inputs, undefined, {
      train: true,
      dropoutSeed: rng.uint32(),
    }).logits as Float32Array;
    const examples = indices.length;
    const loss = distillLoss(
      student.backend,
      {
        studentLogits,
        teacherLogits,
        studentHidden: new Float32Array(0),
        teacherHidden: new Float32Array(0),
        attentionMask: new Float32Array(examples).fill(1),
        labels: batch.labels.labels as Int32Array,
        rows: examples,
        vocab: studentLogits.length / examples,
        dim: 0,
      },
      lossWeights,
    );
    student.backward({ dLogits: loss.dStudentLogits });
    clipGradNorm(student.backend, student.parameters, options.maxGradNorm);
    const lr = learningRate(schedule, state.step);
    optimizer.update(lr);
    student.zeroGradients();
    state.step += 1;
    state.batchInEpoch += 1;
    trainSeconds += (performance.now() - started) / 1000;
    tokens += batch.tokens;
    const total = options.alphaCe * loss.ce + options.alphaHard * loss.mlm;
    steps.push({ step: state.step, total, soft: loss.ce, hard: loss.mlm, lr });
    reporter.step({
      step: state.step,
      totalSteps,
      total,
      parts: { soft: loss.ce, hard: loss.mlm },
      lr,
      tokensPerSecond: tokens / trainSeconds,
    });
    if (options.saveEvery !== null && state.step % options.saveEvery === 0) {
      save();
      lastSaved = state.step;
    }
  }
  if (lastSaved !== state.step) save();
  writeFolder(options.outDir);
  reporter.stop();
  return { steps, trainSeconds };
}
