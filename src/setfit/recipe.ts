// SetFit (Tunstall et al. 2022), few-shot text classification from an embedding model: the body
// is fine-tuned contrastively on pairs of the labelled rows (same label 1, different 0;
// CosineSimilarityLoss) through retrieval/embedding-train.ts's step and the one loop, then a
// logistic regression is fitted on the L2-normalised embeddings of the training rows.
//
// The result is a sequence-classification folder (BertForSequenceClassification or
// DistilBertForSequenceClassification, with id2label/label2id) whose config.json sets this
// project's `classifier_pooling` to the body's pooling: our loader then builds the head SetFit
// computes (models/heads.ts NormalizedEmbeddingHead: pooled, normalised, `classifier` holding the
// logistic regression), so predict, evaluate, serve, quantize and export use it like any
// classifier. transformers does not know the field: it would put its own pooler (missing from
// the weights, so initialised at random, with a warning) before the classifier. The folder also
// carries sentence-transformers' files, so the fine-tuned body stays an embedding model.

import type { ModelConfig } from "../io/config.js";
import type { TensorToWrite } from "../io/safetensors.js";
import {
  architectureKeys,
  BERT_ARCHITECTURES,
  checkpointTensors,
  DISTILBERT_ARCHITECTURES,
  type TransformerModel,
  writeModelFolder,
} from "../models/index.js";
import type { Pooling } from "../models/pooling.js";
import { modelPooling } from "../pipelines/load.js";
import { argmax, normalizeL2 } from "../pipelines/math.js";
import { embedTexts, trainSentenceEmbedding } from "../retrieval/embedding-train.js";
import { DEFAULT_SIMILARITY_SCALE } from "../retrieval/losses.js";
import { loadEncoder } from "../retrieval/recipes.js";
import { writeSentenceTransformerFiles } from "../retrieval/sentence-transformers-folder.js";
import type { Backend } from "../tensor/backend.js";
import { loadTokenizer, type Tokenizer } from "../tokenizer/index.js";
import type { LoadedCheckpoint } from "../train/checkpoint.js";
import { LabelSet } from "../train/labels.js";
import type { LoopOptions, LoopResult } from "../train/loop.js";
import { accuracy, f1Binary, f1Macro, matthewsCorrelation } from "../train/metrics.js";
import type { Reporter } from "../train/reporter.js";
import { configForTask } from "../train/tasks.js";
import {
  fitLogisticRegression,
  type LogisticRegression,
  type LogisticRegressionFit,
  logisticLogits,
} from "./logistic-regression.js";
import { setFitPairs } from "./pairs.js";

/** Texts embedded per forward pass when fitting the head or evaluating. */
const INFERENCE_BATCH = 64;

/** The metrics an evaluation gives (f1 for two labels only), as text-classification's. */
export const SETFIT_METRICS = ["accuracy", "f1", "f1_macro", "mcc"] as const;

/** Texts with their class ids. */
export interface LabelledTexts {
  texts: string[];
  labels: number[];
}

export interface SetFitRun {
  /** The body: an embedding model folder (its 1_Pooling decides the pooling; else mean). */
  modelDir: string;
  backend: Backend;
  train: LabelledTexts;
  /** Class names by id. */
  labelNames: string[];
  /** Held-out rows, classified at every evaluation by a head fitted then; null: keep the last. */
  eval: LabelledTexts | null;
  /** Positive pairs per row (and as many negative ones). */
  iterations: number;
  batchSize: number;
  maxLength: number;
  /** Weights' storage type of a folder written into `dir` (float16 only in the final one). */
  storage(dir: string): "F32" | "F16";
  loop: Omit<LoopOptions, "timeBudget">;
  reporter: Reporter;
  resume: LoadedCheckpoint | null;
}

/** Pooled, L2-normalised embeddings: what the head reads (heads.ts NormalizedEmbeddingHead). */
export function setFitEmbeddings(
  body: TransformerModel,
  tokenizer: Tokenizer,
  texts: string[],
  pooling: Pooling,
  maxLength: number,
): Float32Array[] {
  const vectors = embedTexts(body, tokenizer, texts, pooling, maxLength, INFERENCE_BATCH);
  for (const vector of vectors) normalizeL2(vector);
  return vectors;
}

/** The body's config made a SetFit classifier's: labels, architecture, classifier_pooling. */
function classifierConfig(config: ModelConfig, labelNames: string[], pooling: Pooling) {
  const table = config.modelType === "distilbert" ? DISTILBERT_ARCHITECTURES : BERT_ARCHITECTURES;
  return {
    ...configForTask(config, "text-classification", new LabelSet(labelNames)),
    architectures: [table["sequence-classification"]],
    classifierPooling: pooling,
  };
}

/**
 * The body's weights under the classifier's keys (BERT's pooler left out: the head does not read
 * it) and the logistic regression as `classifier`.
 */
function classifierTensors(
  body: TransformerModel,
  head: LogisticRegression,
  dtype: "F32" | "F16",
): Record<string, TensorToWrite> {
  const keys = architectureKeys(body.config);
  const unused = `${keys.firstTokenDense("")}.`;
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, tensor] of Object.entries(checkpointTensors(body, dtype))) {
    if (!name.startsWith(unused)) tensors[keys.prefix + name] = tensor;
  }
  tensors["classifier.weight"] = {
    dtype,
    shape: [head.classes, head.dim],
    data: Float32Array.from(head.weights),
  };
  tensors["classifier.bias"] = {
    dtype,
    shape: [head.classes],
    data: Float32Array.from(head.intercepts),
  };
  return tensors;
}

export function trainSetFit(run: SetFitRun): LoopResult {
  const { model: body, config } = loadEncoder(
    run.modelDir,
    run.backend,
    run.loop.seed,
    run.resume?.dir,
  );
  const tokenizer = loadTokenizer(run.modelDir);
  const pooling = modelPooling(run.modelDir);
  const { train, labelNames } = run;
  const rowPairs = setFitPairs(train.labels, labelNames, run.iterations, run.loop.seed);
  const encodings = train.texts.map((text) =>
    tokenizer.encode(text, null, { maxLength: run.maxLength, truncation: true }),
  );
  const pairs = rowPairs.map((pair) => ({
    anchor: encodings[pair.first],
    positive: encodings[pair.second],
    negative: null,
    score: pair.target,
  }));
  const embed = (texts: string[]) =>
    setFitEmbeddings(body, tokenizer, texts, pooling, run.maxLength);
  const fitHead = (): LogisticRegressionFit =>
    fitLogisticRegression(embed(train.texts), train.labels, labelNames.length);
  const evaluate = (held: LabelledTexts) => {
    const { model } = fitHead();
    const predictions = embed(held.texts).map((x) => argmax(logisticLogits(model, x)));
    const scores: Record<string, number> = { accuracy: accuracy(predictions, held.labels) };
    if (labelNames.length === 2) scores.f1 = f1Binary(predictions, held.labels);
    scores.f1_macro = f1Macro(predictions, held.labels);
    scores.mcc = matthewsCorrelation(predictions, held.labels);
    return scores;
  };
  const heldOut = run.eval;
  run.reporter.message(
    `SetFit from ${run.modelDir} on ${run.backend.name} (${run.backend.threads} threads): ${train.texts.length} rows, labels ${new LabelSet(labelNames).describe()}, ${pairs.length} pairs (${run.iterations} positive and ${run.iterations} negative per row), ${pooling} pooling${heldOut ? `, ${heldOut.texts.length} rows for evaluation` : ""}`,
  );
  return trainSentenceEmbedding(
    {
      model: body,
      // SetFit draws its pairs once; every epoch goes over the same ones.
      pairsForEpoch: () => pairs,
      padId: tokenizer.padTokenId,
      evaluate: heldOut ? () => evaluate(heldOut) : null,
      writeFolder(dir) {
        const fit = fitHead();
        run.reporter.message(
          `head: logistic regression fitted in ${fit.iterations} L-BFGS iterations (max |gradient| ${fit.gradientNorm.toExponential(1)})`,
        );
        const dtype = run.storage(dir);
        writeModelFolder(
          dir,
          classifierConfig(config, labelNames, pooling),
          classifierTensors(body, fit.model, dtype),
          { dtype, tokenizerFrom: run.modelDir },
        );
        writeSentenceTransformerFiles(dir, {
          pooling,
          dimension: config.hiddenSize,
          maxSeqLength: run.maxLength,
        });
      },
      reporter: run.reporter,
    },
    {
      task: "setfit",
      pooling,
      loss: "cosine-similarity",
      // Recorded in the run's settings; CosineSimilarityLoss has no scale.
      scale: DEFAULT_SIMILARITY_SCALE,
      dims: [config.hiddenSize],
      batchSize: run.batchSize,
      miniBatchSize: null,
      maxLength: run.maxLength,
    },
    run.loop,
    run.resume,
  );
}
