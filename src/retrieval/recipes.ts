// The two training recipes of retrieval, from a model folder and text pairs to a written folder:
// an embedding model (a base encoder saved in sentence-transformers' layout) and a reranker (a
// sequence classifier with one label, Hugging Face's cross-encoder layout). The CLI reads options
// into these; the recipes own the model set-up, tokenization, evaluation and saving.

import { join } from "node:path";
import { UserError } from "../errors.js";
import { loadConfig, type ModelConfig } from "../io/config.js";
import { Checkpoint } from "../io/safetensors.js";
import { createModel, saveModel, type TransformerModel } from "../models/index.js";
import type { Pooling } from "../models/pooling.js";
import { loadForTask, modelPooling } from "../pipelines/load.js";
import type { Backend } from "../tensor/backend.js";
import { loadTokenizer } from "../tokenizer/index.js";
import type { LoadedCheckpoint } from "../train/checkpoint.js";
import type { LoopOptions, LoopResult } from "../train/loop.js";
import { prepareModel } from "../train/model-setup.js";
import type { Reporter } from "../train/reporter.js";
import { type EmbeddingLoss, embedTexts, trainSentenceEmbedding } from "./embedding-train.js";
import {
  type Embed,
  mineHardNegatives,
  pairRetrievalMetrics,
  rerankedPairMetrics,
} from "./pair-retrieval.js";
import type { TextPair } from "./pairs.js";
import {
  encodeLabelledPairs,
  labelledPairs,
  pairsWithNegatives,
  randomNegatives,
  scorePairs,
  trainReranker,
} from "./reranker-train.js";
import { writeSentenceTransformerFiles } from "./sentence-transformers-folder.js";

/** Texts embedded (or pairs scored) per forward pass when evaluating or mining. */
const INFERENCE_BATCH = 64;

/** What both recipes share. */
export interface RetrievalRun {
  modelDir: string;
  backend: Backend;
  /**
   * Epoch `epoch`'s training pairs: the same every epoch, or drawn afresh (inverse-cloze pairs);
   * as many every epoch.
   */
  pairs(epoch: number): TextPair[];
  /** Held-out pairs scored at every evaluation (retrieval metrics); null: keep the last model. */
  evalPairs: TextPair[] | null;
  batchSize: number;
  maxLength: number;
  /** Weights' storage type of a folder written into `dir` (float16 only in the final one). */
  storage(dir: string): "F32" | "F16";
  loop: Omit<LoopOptions, "timeBudget">;
  reporter: Reporter;
  resume: LoadedCheckpoint | null;
}

export interface EmbeddingRecipe {
  /** Default: the model folder's own (sentence-transformers' 1_Pooling), else mean. */
  pooling: Pooling | null;
  scale: number;
  /** Matryoshka prefixes; the full width is added when missing. Empty: the full width alone. */
  matryoshkaDims: number[];
  miniBatchSize: number | null;
}

export const DEFAULT_EMBEDDING_RECIPE: EmbeddingRecipe = {
  pooling: null,
  scale: 20,
  matryoshkaDims: [],
  miniBatchSize: null,
};

/** The Matryoshka dimensions, widest first, with the full width; each within 1..hidden. */
export function matryoshkaDims(requested: number[], hidden: number): number[] {
  for (const dim of requested) {
    if (!Number.isInteger(dim) || dim < 1 || dim > hidden) {
      throw new UserError(
        `Matryoshka dimensions must be whole numbers in 1..${hidden} (the model's hidden size), got ${dim}`,
      );
    }
  }
  return [...new Set([hidden, ...requested])].sort((a, b) => b - a);
}

/** Which loss the pairs call for: CoSENT when they carry scores, else in-batch negatives. */
function embeddingLoss(pairs: TextPair[]): EmbeddingLoss {
  const scored = pairs.filter((pair) => pair.score !== null).length;
  if (scored === 0) return "multiple-negatives-ranking";
  if (pairs.some((pair) => pair.negative !== null)) {
    throw new UserError("scored pairs (CoSENT) take no negative field: give one or the other");
  }
  return "cosent";
}

/**
 * The encoder of `modelDir` without its head (what an embedding model trains), its weights from
 * `resumeDir` when a run resumes; and the folder's config.
 */
export function loadEncoder(
  modelDir: string,
  backend: Backend,
  seed: number,
  resumeDir: string | undefined,
): { model: TransformerModel; config: ModelConfig } {
  const config = loadConfig(modelDir);
  const weightsDir = resumeDir ?? modelDir;
  const model = createModel(config, Checkpoint.open(weightsDir), backend, {
    head: "base",
    seed,
    sourceName: join(weightsDir, "model.safetensors"),
  });
  return { model, config };
}

export function trainEmbeddingModel(run: RetrievalRun, recipe: EmbeddingRecipe): LoopResult {
  const { model, config } = loadEncoder(run.modelDir, run.backend, run.loop.seed, run.resume?.dir);
  const tokenizer = loadTokenizer(run.modelDir);
  const pooling = recipe.pooling ?? modelPooling(run.modelDir);
  const dims = matryoshkaDims(recipe.matryoshkaDims, config.hiddenSize);
  const firstPairs = run.pairs(0);
  const loss = embeddingLoss(firstPairs);
  if (loss === "multiple-negatives-ranking" && run.batchSize < 2) {
    throw new UserError("in-batch negatives need --batch-size 2 or more");
  }
  const encode = (text: string) =>
    tokenizer.encode(text, null, { maxLength: run.maxLength, truncation: true });
  const encodePairs = (pairs: TextPair[]) =>
    pairs.map((pair) => ({
      anchor: encode(pair.anchor),
      positive: encode(pair.positive),
      negative: pair.negative === null ? null : encode(pair.negative),
      score: pair.score,
    }));
  // The loop asks for an epoch's batches once (and again on resume): encode the current epoch only.
  let current = { epoch: 0, pairs: encodePairs(firstPairs) };
  const pairsForEpoch = (epoch: number) => {
    if (current.epoch !== epoch) current = { epoch, pairs: encodePairs(run.pairs(epoch)) };
    return current.pairs;
  };
  const embed: Embed = (texts) =>
    embedTexts(model, tokenizer, texts, pooling, run.maxLength, INFERENCE_BATCH);
  const evalPairs = run.evalPairs;
  run.reporter.message(
    `sentence embedding of ${run.modelDir} on ${run.backend.name} (${run.backend.threads} threads): ${firstPairs.length} pairs, ${loss} loss, ${pooling} pooling, dims ${dims.join(",")}${evalPairs ? `, ${evalPairs.length} pairs for evaluation` : ""}`,
  );
  return trainSentenceEmbedding(
    {
      model,
      pairsForEpoch,
      padId: tokenizer.padTokenId,
      evaluate: evalPairs ? () => pairRetrievalMetrics(embed, run.backend, evalPairs) : null,
      writeFolder(dir) {
        saveModel(model, config, dir, { dtype: run.storage(dir), tokenizerFrom: run.modelDir });
        writeSentenceTransformerFiles(dir, {
          pooling,
          dimension: config.hiddenSize,
          maxSeqLength: run.maxLength,
        });
      },
      reporter: run.reporter,
    },
    {
      task: "sentence-embedding",
      pooling,
      loss,
      scale: recipe.scale,
      dims,
      batchSize: run.batchSize,
      miniBatchSize: recipe.miniBatchSize,
      maxLength: run.maxLength,
    },
    run.loop,
    run.resume,
  );
}

export interface RerankerRecipe {
  /** Negatives per anchor for unscored pairs. */
  negatives: number;
  /** An embedding model folder that mines the negatives; null: drawn at random. */
  mineWith: string | null;
}

export const DEFAULT_RERANKER_RECIPE: RerankerRecipe = { negatives: 3, mineWith: null };

/** Negatives for each pair: mined by an embedding model, or drawn at random. */
async function negativesFor(
  pairs: TextPair[],
  recipe: RerankerRecipe,
  run: RetrievalRun,
): Promise<string[][]> {
  if (recipe.mineWith === null) return randomNegatives(pairs, recipe.negatives, run.loop.seed);
  const loaded = await loadForTask("feature-extraction", recipe.mineWith, { backend: run.backend });
  const pooling = modelPooling(loaded.dir);
  const embed: Embed = (texts) =>
    embedTexts(loaded.model, loaded.tokenizer, texts, pooling, run.maxLength, INFERENCE_BATCH);
  run.reporter.message(
    `mining ${recipe.negatives} hard negatives per pair with ${recipe.mineWith}`,
  );
  const mined = mineHardNegatives(embed, run.backend, pairs, recipe.negatives);
  loaded.model.dispose();
  return mined;
}

export async function trainRerankerModel(
  run: RetrievalRun,
  recipe: RerankerRecipe,
): Promise<LoopResult> {
  // Mining is costly: a reranker trains on the first epoch's pairs, every epoch.
  const pairs = run.pairs(0);
  const scored = pairs.every((pair) => pair.score !== null);
  const labelled = scored
    ? labelledPairs(pairs)
    : await negativesFor(pairs, recipe, run).then((negatives) =>
        pairsWithNegatives(pairs, (i) => negatives[i]),
      );
  const tokenizer = loadTokenizer(run.modelDir);
  const prepared = prepareModel(
    run.modelDir,
    "regression",
    null,
    run.backend,
    run.loop.seed,
    run.resume?.dir,
  );
  const { model } = prepared;
  const evalPairs = run.evalPairs;
  // Each held-out anchor's positive among random other positives: fixed by the seed, so every
  // evaluation ranks the same candidates.
  const evalNegatives = evalPairs ? randomNegatives(evalPairs, 9, run.loop.seed) : [];
  run.reporter.message(
    `reranker from ${run.modelDir} on ${run.backend.name} (${run.backend.threads} threads): ${labelled.length} labelled pairs${evalPairs ? `, ${evalPairs.length} anchors for evaluation (positive among 10)` : ""}`,
  );
  return trainReranker(
    {
      model,
      pairs: encodeLabelledPairs(labelled, tokenizer, run.maxLength),
      padId: tokenizer.padTokenId,
      evaluate: evalPairs
        ? () =>
            rerankedPairMetrics(
              (query, passages) =>
                scorePairs(model, tokenizer, query, passages, run.maxLength, INFERENCE_BATCH),
              evalPairs,
              evalNegatives,
            )
        : null,
      writeFolder: (dir) => prepared.writeFolder(dir, run.storage(dir)),
      reporter: run.reporter,
    },
    { batchSize: run.batchSize, maxLength: run.maxLength },
    run.loop,
    run.resume,
  );
}
