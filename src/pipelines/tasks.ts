// The tasks: for each, the model head it runs and its pipeline class. Building a pipeline from a
// model already loaded is the same in Node (index.ts loads folders and Hub ids) and in the browser
// (browser.ts loads URLs and files in memory).

import { UserError } from "../errors.js";
import type { ModelConfig } from "../io/config-format.js";
import { headOfConfig } from "../models/create.js";
import type { HeadKind } from "../models/types.js";
import type { Callable, LoadedModel, Pipeline } from "./base.js";
import { FeatureExtractionPipeline } from "./feature-extraction.js";
import { FillMaskPipeline } from "./fill-mask.js";
import { MultipleChoicePipeline } from "./multiple-choice.js";
import { QuestionAnsweringPipeline } from "./question-answering.js";
import { SparseEmbeddingPipeline } from "./sparse-embedding.js";
import { TextClassificationPipeline } from "./text-classification.js";
import { TextRankingPipeline } from "./text-ranking.js";
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
  "text-ranking": Callable<TextRankingPipeline>;
  "sparse-embedding": Callable<SparseEmbeddingPipeline>;
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
  "text-ranking",
  "sparse-embedding",
] as const satisfies readonly Task[];

interface TaskEntry {
  /** The head the task runs; "base" accepts any checkpoint (its head is left out). */
  head: HeadKind;
  pipeline: new (task: string, loaded: LoadedModel) => Pipeline;
  /** The task the pipeline reports: aliases report their canonical task. */
  name: string;
}

const TASKS: Record<Task, TaskEntry> = {
  "fill-mask": { head: "masked-lm", pipeline: FillMaskPipeline, name: "fill-mask" },
  "text-classification": {
    head: "sequence-classification",
    pipeline: TextClassificationPipeline,
    name: "text-classification",
  },
  "sentiment-analysis": {
    head: "sequence-classification",
    pipeline: TextClassificationPipeline,
    name: "text-classification",
  },
  "token-classification": {
    head: "token-classification",
    pipeline: TokenClassificationPipeline,
    name: "token-classification",
  },
  ner: {
    head: "token-classification",
    pipeline: TokenClassificationPipeline,
    name: "token-classification",
  },
  "question-answering": {
    head: "question-answering",
    pipeline: QuestionAnsweringPipeline,
    name: "question-answering",
  },
  "feature-extraction": {
    head: "base",
    pipeline: FeatureExtractionPipeline,
    name: "feature-extraction",
  },
  "zero-shot-classification": {
    head: "sequence-classification",
    pipeline: ZeroShotClassificationPipeline,
    name: "zero-shot-classification",
  },
  "multiple-choice": {
    head: "multiple-choice",
    pipeline: MultipleChoicePipeline,
    name: "multiple-choice",
  },
  "text-ranking": {
    head: "sequence-classification",
    pipeline: TextRankingPipeline,
    name: "text-ranking",
  },
  "sparse-embedding": {
    head: "masked-lm",
    pipeline: SparseEmbeddingPipeline,
    name: "sparse-embedding",
  },
};

const HEAD_EXAMPLES: Record<HeadKind, string> = {
  base: "DistilBertModel",
  "masked-lm": "DistilBertForMaskedLM or BertForMaskedLM",
  "sequence-classification": "DistilBertForSequenceClassification",
  "token-classification": "DistilBertForTokenClassification",
  "question-answering": "DistilBertForQuestionAnswering",
  "multiple-choice": "DistilBertForMultipleChoice",
};

/** Throws a UserError naming the tasks when `task` is not one. */
export function checkTask(task: string): asserts task is Task {
  if (!(PIPELINE_TASKS as readonly string[]).includes(task)) {
    throw new UserError(`unknown task '${task}'; tasks: ${PIPELINE_TASKS.join(", ")}`);
  }
}

/**
 * The head to build for `task` on a model with `config` (read from `where`), after checking that
 * the model was made for the task.
 */
export function headForTask(task: Task, config: ModelConfig, where: string): HeadKind {
  const { head } = TASKS[task];
  requireHead(head, task, config, where);
  return head;
}

/**
 * Refuses a model whose config has not the `head` that `task` needs ("base": any head): loading it
 * anyway would give a randomly initialised head, whose answers (and scores) mean nothing.
 */
export function requireHead(head: HeadKind, task: string, config: ModelConfig, where: string) {
  const configHead = headOfConfig(config, `${where}/config.json`);
  if (head !== "base" && configHead !== head) {
    throw new UserError(
      `${task} needs a model with a ${head} head (${HEAD_EXAMPLES[head]}), but ${where} is a ${config.architectures[0] ?? "model without a head"}: use a model fine-tuned for ${task}`,
    );
  }
}

/** The pipeline for `task` on a model loaded with the head `headForTask` gave. */
export function createPipeline<T extends Task>(task: T, loaded: LoadedModel): TaskPipelines[T] {
  const { pipeline, name } = TASKS[task];
  return new pipeline(name, loaded) as TaskPipelines[T];
}
