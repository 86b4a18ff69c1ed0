// `pipeline(task, model?, options?)`: the one call most users need, as in transformers.js.

import { UserError } from "../errors.js";
import type { Callable } from "./base.js";
import { FeatureExtractionPipeline } from "./feature-extraction.js";
import { FillMaskPipeline } from "./fill-mask.js";
import type { PipelineLoadOptions } from "./load.js";
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

/** Tasks with a model shipped in the package, used when no model is given. */
export const PIPELINE_TASKS_WITH_DEFAULT_MODEL: readonly Task[] = [
  "fill-mask",
  "feature-extraction",
];

/**
 * The pipeline for `task` on `model` (a local folder or a Hugging Face Hub id). Without a model,
 * fill-mask and feature-extraction use the embedded teacher; other tasks need one.
 */
export async function pipeline<T extends Task>(
  task: T,
  model?: string,
  options?: PipelineLoadOptions,
): Promise<TaskPipelines[T]> {
  if (!(PIPELINE_TASKS as readonly string[]).includes(task)) {
    throw new UserError(`unknown task '${task}'; tasks: ${PIPELINE_TASKS.join(", ")}`);
  }
  if (model === undefined && !PIPELINE_TASKS_WITH_DEFAULT_MODEL.includes(task)) {
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
        return TextClassificationPipeline.fromPretrained(model as string, options);
      case "token-classification":
      case "ner":
        return TokenClassificationPipeline.fromPretrained(model as string, options);
      case "question-answering":
        return QuestionAnsweringPipeline.fromPretrained(model as string, options);
      case "zero-shot-classification":
        return ZeroShotClassificationPipeline.fromPretrained(model as string, options);
      case "multiple-choice":
        return MultipleChoicePipeline.fromPretrained(model as string, options);
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
export { EMBEDDED_MODEL_DIR, type PipelineLoadOptions } from "./load.js";
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
  FeatureExtractionPipeline,
  FillMaskPipeline,
  MultipleChoicePipeline,
  QuestionAnsweringPipeline,
  TextClassificationPipeline,
  TokenClassificationPipeline,
  ZeroShotClassificationPipeline,
};
