// The training-loop settings both distillations share, as DistilBERT's own script
// (Hugging Face's research_projects/distillation, train.py) sets them: a linear warm-up and
// decay, Adam's epsilon 1e-6 (not PyTorch's 1e-8), no decay on biases and LayerNorms, one batch
// per step, and the last model as the result (evaluation comes after, by `compare`).

import type { LoopOptions, RunStore } from "../train/loop.js";

export interface DistillRunOptions {
  lr: number;
  warmupRatio: number;
  weightDecay: number;
  maxGradNorm: number;
  seed: number;
  saveEvery: number | null;
  /** Where the run keeps its checkpoints and model (run-store.ts folderStore on disk). */
  store: RunStore;
}

/** The loop's options for a distillation of `length` (epochs, steps or a time budget). */
export function distillLoopOptions(
  options: DistillRunOptions,
  length: Pick<LoopOptions, "epochs" | "steps" | "timeBudget">,
): LoopOptions {
  return {
    ...length,
    gradAccum: 1,
    lr: options.lr,
    schedule: "linear",
    warmupRatio: options.warmupRatio,
    weightDecay: options.weightDecay,
    decayAll: false,
    adamEps: 1e-6,
    maxGradNorm: options.maxGradNorm,
    seed: options.seed,
    evalEvery: null,
    earlyStopping: null,
    metric: "loss",
    saveEvery: options.saveEvery,
    store: options.store,
  };
}
