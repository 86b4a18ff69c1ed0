// `pipeline(task, model?, options?)`: the one call most users need, as in transformers.js.

import { UserError } from "../errors.js";
import { EMBEDDED_MODEL_DIR, loadForTask, type PipelineLoadOptions } from "./load.js";
import { checkTask, createPipeline, type Task, type TaskPipelines } from "./tasks.js";

/** The models shipped in the package, used when no model is given. */
export const DEFAULT_MODELS: Partial<Record<Task, string>> = {
  "fill-mask": EMBEDDED_MODEL_DIR,
  "feature-extraction": EMBEDDED_MODEL_DIR,
};

/**
 * The pipeline for `task` on `modelOrDefault` (a local folder or a Hugging Face Hub id), or on
 * the task's shipped model (DEFAULT_MODELS) when none is given.
 */
export async function pipeline<T extends Task>(
  task: T,
  modelOrDefault?: string,
  options?: PipelineLoadOptions,
): Promise<TaskPipelines[T]> {
  checkTask(task);
  const model = modelOrDefault ?? DEFAULT_MODELS[task];
  if (model === undefined) {
    throw new UserError(
      `${task} has no default model: pass one (a model folder or a Hugging Face Hub id)`,
    );
  }
  return createPipeline(task, await loadForTask(task, model, options));
}

export type { Pooling } from "../models/pooling.js";
export type { Answer } from "./answer-spans.js";
export { type Callable, type LoadedModel, Pipeline } from "./base.js";
export type { ClassificationFunction, LabelScore } from "./classification.js";
export type { AggregationStrategy, EntityGroup, TokenEntity } from "./entities.js";
export type { FeatureExtractionOptions, FeatureExtractionOutput } from "./feature-extraction.js";
export { FeatureExtractionPipeline } from "./feature-extraction.js";
export type { FillMaskOptions, FillMaskOutput, FillMaskPrediction } from "./fill-mask.js";
export { FillMaskPipeline } from "./fill-mask.js";
export { EMBEDDED_MODEL_DIR, loadForTask, type PipelineLoadOptions } from "./load.js";
export type {
  MultipleChoiceInput,
  MultipleChoiceOptions,
  MultipleChoiceOutput,
} from "./multiple-choice.js";
export { MultipleChoicePipeline } from "./multiple-choice.js";
export type {
  QuestionAnsweringInput,
  QuestionAnsweringOptions,
  QuestionAnsweringOutput,
} from "./question-answering.js";
export { QuestionAnsweringPipeline } from "./question-answering.js";
export {
  type AddOptions,
  ANN_THRESHOLD,
  type BuildOptions,
  type OpenOptions,
  type SearchHit,
  type SearchMode,
  type SearchOptions,
  SemanticSearch,
  type SemanticSearchOptions,
} from "./semantic-search.js";
export {
  type SparseEmbeddingOptions,
  SparseEmbeddingPipeline,
  type SparseValue,
} from "./sparse-embedding.js";
export {
  createPipeline,
  headForTask,
  PIPELINE_TASKS,
  type Task,
  type TaskPipelines,
} from "./tasks.js";
export type {
  TextClassificationInput,
  TextClassificationOptions,
  TextClassificationOutput,
  TextPair,
} from "./text-classification.js";
export { TextClassificationPipeline } from "./text-classification.js";
export {
  type RankedText,
  type TextRankingOptions,
  TextRankingPipeline,
} from "./text-ranking.js";
export type {
  TokenClassificationOptions,
  TokenClassificationOutput,
} from "./token-classification.js";
export { TokenClassificationPipeline } from "./token-classification.js";
export type { ZeroShotOptions, ZeroShotOutput } from "./zero-shot.js";
export { ZeroShotClassificationPipeline } from "./zero-shot.js";
