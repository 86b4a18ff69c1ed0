// Loading what a pipeline runs in Node: the model folder (local, or downloaded from the Hub by
// id), its config, tokenizer and a model with the head the task needs (tasks.ts, shared with the
// browser, checks the head and builds the pipeline).

import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.js";
import { loadConfig } from "../io/config.js";
import { resolveModel } from "../io/hub.js";
import { readTextFileIfPresent } from "../io/text-file.js";
import { loadModel, type ModelDtype } from "../models/index.js";
import type { Pooling } from "../models/pooling.js";
import { type Backend, type BackendChoice, createBackend } from "../tensor/index.js";
import { loadTokenizer } from "../tokenizer/index.js";
import type { LoadedModel } from "./base.js";
import {
  poolingOf,
  SENTENCE_EMBEDDING_FILES,
  type SentenceEmbeddingConfig,
  sentenceEmbeddingConfig,
} from "./sentence-embedding-config.js";
import { headForTask, type Task } from "./tasks.js";

export interface PipelineLoadOptions {
  /** A backend instance, or which to create; default "auto". */
  backend?: Backend | BackendChoice;
  /** Hub models: a branch, tag or commit; default "main". */
  revision?: string;
  /** Hub models: the cache folder; default Python's (`$HF_HOME/hub`). */
  cacheDir?: string;
  /** "int8" quantizes a float model as it loads (an int8 folder is int8 regardless). */
  dtype?: ModelDtype;
}

const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The teacher shipped in the package: the default for fill-mask and feature-extraction. */
export const EMBEDDED_MODEL_DIR = join(PACKAGE_ROOT, "models", "bert-mini-sotu");

/** Loads `idOrDir` (a local folder or a Hub id) with the head `task` runs. */
export async function loadForTask(
  task: Task,
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
  const head = headForTask(task, config, dir);
  const tokenizer = loadTokenizer(dir);
  const backend =
    typeof options.backend === "object"
      ? options.backend
      : await createBackend(options.backend ?? "auto");
  const model = loadModel(dir, { backend, head, dtype: options.dtype, inference: true });
  return { dir, config, tokenizer, model, sentenceEmbedding: folderSentenceEmbedding(dir) };
}

/** The sentence-transformers settings of a model folder; null when it is not one. */
export function folderSentenceEmbedding(dir: string): SentenceEmbeddingConfig | null {
  const files = Object.fromEntries(
    SENTENCE_EMBEDDING_FILES.map((name) => [name, readTextFileIfPresent(join(dir, name))]),
  );
  return sentenceEmbeddingConfig(files, dir);
}

/**
 * The sentence-embedding pooling a model folder asks for: sentence-transformers' `1_Pooling/
 * config.json` when it has one (its CLS or mean mode), else mean pooling.
 */
export function modelPooling(dir: string): Pooling {
  const file = join(dir, "1_Pooling", "config.json");
  return poolingOf(readTextFileIfPresent(file), file);
}
