// The library in the browser (the bundle dist/browser/distilbert.js; package.json's `browser`
// condition): models, tokenizers and pipelines loaded from a base URL or from files in memory,
// run on the WebAssembly backend. Nothing here reaches Node's modules: the parsing and building are
// the same code Node runs, only the reading differs (model-files.ts instead of the file system).

import { UserError } from "./errors.js";
import { type ModelConfig, parseConfigText } from "./io/config-format.js";
import { type ModelFiles, type ModelSource, modelFiles, readText } from "./io/model-files.js";
import { Checkpoint, parseShardIndex, SafetensorsFile } from "./io/safetensors-format.js";
import { createModel } from "./models/create.js";
import type { TransformerModel } from "./models/model.js";
import type { HeadKind, ModelDtype } from "./models/types.js";
import {
  SENTENCE_EMBEDDING_FILES,
  sentenceEmbeddingConfig,
} from "./pipelines/sentence-embedding-config.js";
import {
  checkTask,
  createPipeline,
  headForTask,
  type Task,
  type TaskPipelines,
} from "./pipelines/tasks.js";
import type { Backend } from "./tensor/backend.js";
import { ReferenceBackend } from "./tensor/reference.js";
import { WasmBackend } from "./tensor/wasm/backend.js";
import { tokenizerFromFiles } from "./tokenizer/folder.js";
import type { Tokenizer } from "./tokenizer/tokenizer.js";

/** A browser has no native addon: WebAssembly, or the plain TypeScript reference. */
export type BrowserBackendChoice = "auto" | "wasm" | "reference";

export interface BrowserBackendOptions {
  /** WebAssembly worker threads; default: navigator.hardwareConcurrency. */
  threads?: number;
}

/**
 * "auto" is WebAssembly where it loads, else the reference backend. WebAssembly needs shared
 * memory, which a page has only when cross-origin isolated (served with COOP and COEP headers).
 */
export async function createBackend(
  choice: BrowserBackendChoice = "auto",
  options: BrowserBackendOptions = {},
): Promise<Backend> {
  switch (choice) {
    case "wasm":
      return WasmBackend.create({ threads: options.threads });
    case "reference":
      return new ReferenceBackend();
    case "auto":
      try {
        return await WasmBackend.create({ threads: options.threads });
      } catch {
        return new ReferenceBackend();
      }
    default:
      throw new UserError(`unknown backend '${choice}'; in the browser: auto, wasm, reference`);
  }
}

export interface BrowserLoadOptions {
  /** A backend instance, or which to create; default "auto". */
  backend?: Backend | BrowserBackendChoice;
  /** Build this head instead of the config's architecture. */
  head?: HeadKind;
  /** "int8" quantizes a float model as it loads (an int8 folder is int8 regardless). */
  dtype?: ModelDtype;
}

async function backendOf(option: Backend | BrowserBackendChoice | undefined): Promise<Backend> {
  return typeof option === "object" ? option : createBackend(option);
}

/** config.json of the model folder at `source` (a base URL, or filesInMemory). */
export async function loadConfigFrom(source: ModelSource): Promise<ModelConfig> {
  const files = modelFiles(source);
  const text = await readText(files, "config.json");
  if (text === undefined) {
    throw new UserError(`${files.where} has no config.json: is it a Hugging Face model folder?`);
  }
  return parseConfigText(text, `${files.where}/config.json`);
}

/** tokenizer.json if the folder has one, else vocab.txt (+ tokenizer_config.json if present). */
export async function loadTokenizerFrom(source: ModelSource): Promise<Tokenizer> {
  const files = modelFiles(source);
  const [json, config] = await Promise.all([
    readText(files, "tokenizer.json"),
    readText(files, "tokenizer_config.json"),
  ]);
  const vocab = json === undefined ? await readText(files, "vocab.txt") : undefined;
  return tokenizerFromFiles(
    { "tokenizer.json": json, "vocab.txt": vocab, "tokenizer_config.json": config },
    files.where,
  );
}

/** The weights: model.safetensors, or the shards model.safetensors.index.json lists. */
export async function loadCheckpointFrom(source: ModelSource): Promise<Checkpoint> {
  const files = modelFiles(source);
  const single = await files.read("model.safetensors");
  if (single) {
    return Checkpoint.fromFile(
      SafetensorsFile.fromBytes(single, `${files.where}/model.safetensors`),
    );
  }
  const indexSource = `${files.where}/model.safetensors.index.json`;
  const indexText = await readText(files, "model.safetensors.index.json");
  if (indexText === undefined) {
    throw new UserError(
      `${files.where} has no model.safetensors or model.safetensors.index.json: is it a Hugging Face model folder?`,
    );
  }
  const weightMap = parseShardIndex(indexText, indexSource);
  const shards = new Map<string, SafetensorsFile>();
  for (const shard of new Set(Object.values(weightMap))) {
    const bytes = await files.read(shard);
    if (!bytes) throw new UserError(`${indexSource} lists ${shard}, which is missing`);
    shards.set(shard, SafetensorsFile.fromBytes(bytes, `${files.where}/${shard}`));
  }
  return Checkpoint.fromShards(weightMap, shards, indexSource);
}

/** The model of the folder at `source`, with the config's head (or `options.head`). */
export async function loadModelFrom(
  source: ModelSource,
  options: BrowserLoadOptions = {},
): Promise<TransformerModel> {
  const files = modelFiles(source);
  const [config, checkpoint] = await Promise.all([
    loadConfigFrom(files),
    loadCheckpointFrom(files),
  ]);
  const backend = await backendOf(options.backend);
  return createModel(config, checkpoint, backend, {
    head: options.head,
    dtype: options.dtype,
    sourceName: `${files.where}/model.safetensors`,
  });
}

/** The pipeline for `task` on the model folder at `source` (a base URL, or filesInMemory). */
export async function pipeline<T extends Task>(
  task: T,
  source: ModelSource,
  options: Pick<BrowserLoadOptions, "backend" | "dtype"> = {},
): Promise<TaskPipelines[T]> {
  checkTask(task);
  const files = modelFiles(source);
  const config = await loadConfigFrom(files);
  const head = headForTask(task, config, files.where);
  const [tokenizer, model, sentenceEmbedding] = await Promise.all([
    loadTokenizerFrom(files),
    loadModelFrom(files, { backend: options.backend, dtype: options.dtype, head }),
    sentenceEmbeddingFrom(files),
  ]);
  return createPipeline(task, { dir: files.where, config, tokenizer, model, sentenceEmbedding });
}

/** The folder's sentence-transformers settings (its pooling, ...); null when it is not one. */
async function sentenceEmbeddingFrom(files: ModelFiles) {
  const texts = await Promise.all(
    SENTENCE_EMBEDDING_FILES.map(async (name) => [name, await readText(files, name)] as const),
  );
  return sentenceEmbeddingConfig(Object.fromEntries(texts), files.where);
}

export { UserError } from "./errors.js";
export { configToJSON, type ModelConfig, parseConfig } from "./io/config-format.js";
export {
  type DownloadProgress,
  type FetchOptions,
  type FileContents,
  filesAtUrl,
  filesInMemory,
  type ModelFiles,
  type ModelSource,
} from "./io/model-files.js";
export {
  Checkpoint,
  encodeSafetensors,
  SafetensorsFile,
  type TensorInfo,
  type TensorToWrite,
} from "./io/safetensors-format.js";
export { createModel, HEAD_KINDS } from "./models/create.js";
export type { TransformerModel } from "./models/model.js";
export type * from "./models/types.js";
export type { Answer } from "./pipelines/answer-spans.js";
export { type Callable, type LoadedModel, Pipeline } from "./pipelines/base.js";
export type { ClassificationFunction, LabelScore } from "./pipelines/classification.js";
export type { AggregationStrategy, EntityGroup, TokenEntity } from "./pipelines/entities.js";
export {
  type FeatureExtractionOptions,
  type FeatureExtractionOutput,
  FeatureExtractionPipeline,
} from "./pipelines/feature-extraction.js";
export {
  type FillMaskOptions,
  type FillMaskOutput,
  FillMaskPipeline,
  type FillMaskPrediction,
} from "./pipelines/fill-mask.js";
export {
  type MultipleChoiceInput,
  type MultipleChoiceOptions,
  type MultipleChoiceOutput,
  MultipleChoicePipeline,
} from "./pipelines/multiple-choice.js";
export {
  type QuestionAnsweringInput,
  type QuestionAnsweringOptions,
  type QuestionAnsweringOutput,
  QuestionAnsweringPipeline,
} from "./pipelines/question-answering.js";
export {
  createPipeline,
  PIPELINE_TASKS,
  type Task,
  type TaskPipelines,
} from "./pipelines/tasks.js";
export {
  type TextClassificationInput,
  type TextClassificationOptions,
  type TextClassificationOutput,
  TextClassificationPipeline,
  type TextPair,
} from "./pipelines/text-classification.js";
export {
  type TokenClassificationOptions,
  type TokenClassificationOutput,
  TokenClassificationPipeline,
} from "./pipelines/token-classification.js";
export {
  ZeroShotClassificationPipeline,
  type ZeroShotOptions,
  type ZeroShotOutput,
} from "./pipelines/zero-shot.js";
export type { Backend } from "./tensor/backend.js";
export { ReferenceBackend } from "./tensor/reference.js";
export { WasmBackend, type WasmKernelSet, wasmKernelSets } from "./tensor/wasm/backend.js";
export type { Encoding } from "./tokenizer/encoding.js";
export { type DecodeOptions, type EncodeOptions, Tokenizer } from "./tokenizer/tokenizer.js";
