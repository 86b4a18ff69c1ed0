// The model to fine-tune: a Hugging Face folder loaded with the task's head (a new head on a
// pretrained encoder is initialised as Hugging Face does: normal(0, initializer_range), zero
// biases), its config carrying the task's labels; and the output folder written back.

import { join } from "node:path";
import { loadConfig, type ModelConfig } from "../io/config.js";
import { Checkpoint } from "../io/safetensors.js";
import { createModel, saveModel, type TransformerModel } from "../models/index.js";
import type { Backend } from "../tensor/backend.js";
import type { LabelSet } from "./labels.js";
import { configForTask, TASKS, type TaskKind } from "./tasks.js";

export interface PreparedModel {
  model: TransformerModel;
  config: ModelConfig;
  /** Writes a complete Hugging Face folder (config, fp32 weights, tokenizer files) into DIR. */
  writeFolder(dir: string, dtype?: "F32" | "F16"): void;
}

/**
 * Loads `modelDir` (or, when resuming, the weights from `weightsDir`) with the task's head.
 * `seed` seeds the initialisation of a new head.
 */
export function prepareModel(
  modelDir: string,
  task: TaskKind,
  labels: LabelSet | null,
  backend: Backend,
  seed: number,
  weightsDir: string = modelDir,
): PreparedModel {
  const config = configForTask(loadConfig(modelDir), task, labels);
  const model = createModel(config, Checkpoint.open(weightsDir), backend, {
    head: TASKS[task].head,
    seed,
    sourceName: join(weightsDir, "model.safetensors"),
  });
  const writeFolder = (dir: string, dtype: "F32" | "F16" = "F32") => {
    saveModel(model, config, dir, { dtype, tokenizerFrom: modelDir });
  };
  return { model, config, writeFolder };
}
