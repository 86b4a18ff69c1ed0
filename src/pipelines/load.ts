// Loading what a pipeline runs: the model folder (local, or downloaded from the Hub by id), its
// config, tokenizer and a model with the head the task needs.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.js";
import { loadConfig, type ModelConfig } from "../io/config.js";
import { resolveModel } from "../io/hub.js";
import { headOfConfig, loadModel } from "../models/index.js";
import type { HeadKind, Model } from "../models/types.js";
import { type Backend, type BackendChoice, createBackend } from "../tensor/index.js";
import { loadTokenizer, type Tokenizer } from "../tokenizer/index.js";

export interface PipelineLoadOptions {
  /** A backend instance, or which to create; default "auto". */
  backend?: Backend | BackendChoice;
  /** Hub models: a branch, tag or commit; default "main". */
  revision?: string;
  /** Hub models: the cache folder; default Python's (`$HF_HOME/hub`). */
  cacheDir?: string;
}

export interface LoadedModel {
  /** The local folder the files came from. */
  dir: string;
  config: ModelConfig;
  tokenizer: Tokenizer;
  model: Model;
}

const HEAD_EXAMPLES: Record<HeadKind, string> = {
  base: "DistilBertModel",
  "masked-lm": "DistilBertForMaskedLM or BertForMaskedLM",
  "sequence-classification": "DistilBertForSequenceClassification",
  "token-classification": "DistilBertForTokenClassification",
  "question-answering": "DistilBertForQuestionAnswering",
  "multiple-choice": "DistilBertForMultipleChoice",
};

const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The teacher shipped in the package: the default for fill-mask and feature-extraction. */
export const EMBEDDED_MODEL_DIR = join(PACKAGE_ROOT, "models", "bert-mini-sotu");

/**
 * Loads `idOrDir` for `task`. `head` is the head the task runs; "base" accepts any checkpoint
 * (its head is left out).
 */
export async function loadForTask(
  task: string,
  head: HeadKind,
  idOrDir: string,
  options: PipelineLoadOptions = {},
): Promise<LoadedModel> {
  const dir = await resolveModel(idOrDir, {
    revision: options.revision,
    cacheDir: options.cacheDir,
  });
  if (!existsSync(join(dir, "config.json"))) {
    throw new UserError(`${dir} has no config.json: point --model at a Hugging Face model folder`);
  }
  const config = loadConfig(dir);
  const configHead = headOfConfig(config, join(dir, "config.json"));
  if (head !== "base" && configHead !== head) {
    throw new UserError(
      `${task} needs a model with a ${head} head (${HEAD_EXAMPLES[head]}), but ${dir} is a ${config.architectures[0] ?? "model without a head"}: use a model fine-tuned for ${task}`,
    );
  }
  const tokenizer = loadTokenizer(dir);
  const backend =
    typeof options.backend === "object"
      ? options.backend
      : await createBackend(options.backend ?? "auto");
  const model = loadModel(dir, { backend, head });
  return { dir, config, tokenizer, model };
}
