// The training API: the one training loop, fine-tuning over it, and its parts (optimizer, schedules, data, metrics).

export { Rng, type RngState } from "../models/rng.js";
export { collate, epochBatches } from "./batching.js";
export { readCheckpoint, resolveCheckpoint, type TrainerState } from "./checkpoint.js";
export { readDataFile } from "./data.js";
export { type DataFile, parseDataFile } from "./data-format.js";
export { evaluate } from "./evaluate.js";
export { type Dataset, encodeDataset, type Feature, trainingLabelSet } from "./features.js";
export { LabelSet } from "./labels.js";
export {
  checkSameSettings,
  type LoopOptions,
  type LoopResult,
  type LoopTask,
  runLoop,
  type StepLoss,
  type StepRecord,
} from "./loop.js";
export * as metrics from "./metrics.js";
export { type PreparedModel, prepareModel } from "./model-setup.js";
export { AdamW, type AdamWOptions, clipGradNorm, excludedFromDecay } from "./optimizer.js";
export { createReporter } from "./progress.js";
export type { Reporter, StepInfo } from "./reporter.js";
export { learningRate, type Schedule, type ScheduleKind, warmupStepsFor } from "./schedule.js";
export {
  configForTask,
  TASKS as TRAINING_TASKS,
  type TaskKind as TrainingTask,
} from "./tasks.js";
export { type TrainerInputs, type TrainerOptions, train } from "./trainer.js";
