// Fine-tuning: a task's head on labelled features, as Hugging Face's Trainer: seeded
// length-grouped batches, forward/backward with seeded dropout, over the one training loop
// (loop.ts: accumulation, clipping, AdamW, evaluation keeping the best model, checkpoints, resume).

import type { Model } from "../models/types.js";
import { collate, epochBatches } from "./batching.js";
import type { LoadedCheckpoint } from "./checkpoint.js";
import { evaluate } from "./evaluate.js";
import type { Dataset } from "./features.js";
import type { LabelSet } from "./labels.js";
import { type LoopResult, type RunStore, runLoop } from "./loop.js";
import type { Reporter } from "./reporter.js";
import type { ScheduleKind } from "./schedule.js";
import type { TaskKind } from "./tasks.js";

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

  /** Checkpoints, the evaluation log and the model: run-store.ts's folderStore on disk. */
  store: RunStore;
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

/** Fine-tunes `inputs.model` on `inputs.train`; with `inputs.eval`, keeps the best model. */
export function train(
  inputs: TrainerInputs,
  options: TrainerOptions,
  resume: LoadedCheckpoint | null = null,
): LoopResult {
  const { model, train: trainData, eval: evalData, labels, padId } = inputs;
  const lengths = trainData.features.map((f) => f.length);
  return runLoop(
    {
      model,
      epochBatches: (epoch) => epochBatches(lengths, options.batchSize, options.seed, epoch),
      step(indices, rng) {
        const batch = collate(
          indices.map((i) => trainData.features[i]),
          padId,
        );
        const outputs = model.forward(batch.inputs, batch.labels, {
          train: true,
          dropoutSeed: rng.uint32(),
        });
        if (outputs.loss === undefined) {
          throw new Error("the model computed no loss from the labels");
        }
        model.backward();
        return { loss: outputs.loss, parts: {}, examples: indices.length, tokens: batch.tokens };
      },
      evaluate: evalData
        ? () => evaluate(model, evalData, options.task, labels, options.batchSize, padId)
        : null,
      writeFolder: inputs.writeFolder,
      settings: {
        task: options.task,
        batchSize: options.batchSize,
        trainFeatures: lengths.length,
      },
    },
    {
      epochs: options.epochs,
      steps: options.maxSteps,
      timeBudget: null,
      gradAccum: options.gradAccum,
      lr: options.lr,
      schedule: options.schedule,
      warmupRatio: options.warmupRatio,
      weightDecay: options.weightDecay,
      decayAll: options.decayAll,
      adamEps: 1e-8,
      maxGradNorm: options.maxGradNorm,
      seed: options.seed,
      evalEvery: options.evalEvery,
      earlyStopping: options.earlyStopping,
      metric: options.metric,
      saveEvery: options.saveEvery,
      store: options.store,
    },
    inputs.reporter,
    resume,
  );
}
