// `pipeline(task, model?, options?)`: the one call most users need, as in transformers.js.

import { UserError } from "../errors.js";
import type { Callable } from "./base.js";
import { FeatureExtractionPipeline } from "./feature-extraction.js";
import { FillMaskPipeline } from "./fill-mask.js";
import { EMBEDDED_MODEL_DIR, type PipelineLoadOptions } from "./load.js";
import { MultipleChoicePipeline } from "./multiple-choice.js";
import { QuestionAnsweringPipeline } from "./question-answering.js";
import { TextClassificationPipeline } from "./text-classification.js";
import { TokenClassificationPipeline } from "./token-classification.js";
import { ZeroShotClassificationPipeline } from "./zero-shot.js";

export interface TaskPipelines {
  "fill-mask": Callable<FillMaskPipeline>;
  "text-classification": Callable<TextClassificationPipeline>;
  "sentiment-analysis": Callable<TextClassificationPipeline>;
  "token-classification": Callable<TokenClassificationPipeline>;
  ner: Callable<TokenClassificationPipeline>;
  "question-answering": Callable<QuestionAnsweringPipeline>;
  "feature-extraction": Callable<FeatureExtractionPipeline>;
  "zero-shot-classification": Callable<ZeroShotClassificationPipeline>;
  "multiple-choice": Callable<MultipleChoicePipeline>;
}

export type Task = keyof TaskPipelines;

export const PIPELINE_TASKS = [
  "fill-mask",
  "text-classification",
  "sentiment-analysis",
  "token-classification",
  "ner",
  "question-answering",
  "feature-extraction",
  "zero-shot-classification",
  "multiple-choice",
] as const satisfies readonly Task[];

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
  if (!(PIPELINE_TASKS as readonly string[]).includes(task)) {
    throw new UserError(`unknown task '${task}'; tasks: ${PIPELINE_TASKS.join(", ")}`);
  }
  const model = modelOrDefault ?? DEFAULT_MODELS[task];
  if (model === undefined) {
    throw new UserError(
      `${task} has no default model: pass one (a model folder or a Hugging Face Hub id)`,
    );
  }
  const load = async (): Promise<TaskPipelines[Task]> => {
    switch (task as Task) {
      case "fill-mask":
        return FillMaskPipeline.fromPretrained(model, options);
      case "feature-extraction":
        return FeatureExtractionPipeline.fromPretrained(model, options);
      case "text-classification":
      case "sentiment-analysis":
        return TextClassificationPipeline.fromPretrained(model, options);
      case "token-classification":
      case "ner":
        return TokenClassificationPipeline.fromPretrained(model, options);
      case "question-answering":
        return QuestionAnsweringPipeline.fromPretrained(model, options);
      case "zero-shot-classification":
        return ZeroShotClassificationPipeline.fromPretrained(model, options);
      case "multiple-choice":
        return MultipleChoicePipeline.fromPretrained(model, options);
    }
  };
  return (await load()) as TaskPipelines[T];
}

export type { Answer } from "./answer-spans.js";
export { type Callable, Pipeline } from "./base.js";
export type { ClassificationFunction, LabelScore } from "./classification.js";
export type { AggregationStrategy, EntityGroup, TokenEntity } from "./entities.js";
export type { FeatureExtractionOptions, FeatureExtractionOutput } from "./feature-extraction.js";
export type { FillMaskOptions, FillMaskOutput, FillMaskPrediction } from "./fill-mask.js";
export type {
  MultipleChoiceInput,
  MultipleChoiceOptions,
  MultipleChoiceOutput,
} from "./multiple-choice.js";
export type { Pooling } from "./pooling.js";
export type {
  QuestionAnsweringInput,
  QuestionAnsweringOptions,
  QuestionAnsweringOutput,
} from "./question-answering.js";
export { type SearchHit, SemanticSearch, type SemanticSearchOptions } from "./semantic-search.js";
export type {
  TextClassificationInput,
  TextClassificationOptions,
  TextClassificationOutput,
  TextPair,
} from "./text-classification.js";
export type {
  TokenClassificationOptions,
  TokenClassificationOutput,
} from "./token-classification.js";
export type { ZeroShotOptions, ZeroShotOutput } from "./zero-shot.js";
export {
  EMBEDDED_MODEL_DIR,
  FeatureExtractionPipeline,
  FillMaskPipeline,
  MultipleChoicePipeline,
  type PipelineLoadOptions,
  QuestionAnsweringPipeline,
  TextClassificationPipeline,
  TokenClassificationPipeline,
  ZeroShotClassificationPipeline,
};
