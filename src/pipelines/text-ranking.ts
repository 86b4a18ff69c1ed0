// text-ranking: a cross-encoder (sentence-transformers' CrossEncoder; on the Hub a
// ...ForSequenceClassification with one label) scoring how well each text answers a query. Each
// (query, text) pair is one tokenizer text pair, query first, and its score is the label's logit,
// through a sigmoid unless raw scores are asked for, as CrossEncoder and text-embeddings-inference's
// /rerank give it. Pairs longer than the model reads are cut longest-first by default, as
// CrossEncoder does.

import { UserError } from "../errors.js";
import type { Encoding } from "../tokenizer/index.js";
import { DEFAULT_BATCH_SIZE, type LoadedModel, outputOf, Pipeline } from "./base.js";
import { sigmoid } from "./math.js";
import { OptionReader, readTruncation, TRUNCATION_OPTIONS, type Truncation } from "./options.js";
import type { TextPair } from "./text-classification.js";

export interface TextRankingOptions {
  /** Only the `top_k` best texts; default all. */
  top_k?: number | null;
  /** The logits as they are, without the sigmoid. */
  raw_scores?: boolean;
  /** Each result also carries its text. */
  return_text?: boolean;
  /** Default: true (longest_first) at the model's length, as CrossEncoder; false refuses long pairs. */
  truncation?: boolean | "longest_first" | "only_first" | "only_second";
  max_length?: number;
  batch_size?: number;
}

/** One text's place in the ranking: its index in the texts given, its score, maybe its text. */
export interface RankedText {
  index: number;
  score: number;
  text?: string;
}

export interface RankingChoices {
  rawScores: boolean;
  returnText: boolean;
  /** null: every text. */
  topK: number | null;
}

const OPTIONS = ["top_k", "raw_scores", "return_text", "batch_size", ...TRUNCATION_OPTIONS];
/** What `runBatch` takes: the pairs' logits only; ranking is per query (rankTexts). */
const BATCH_OPTIONS = ["batch_size", ...TRUNCATION_OPTIONS];

/** The texts ranked by their logits, best first (ties keep the texts' order). */
export function rankTexts(
  logits: ArrayLike<number>,
  texts: string[],
  choices: RankingChoices,
): RankedText[] {
  const scores = choices.rawScores ? Array.from(logits) : sigmoid(logits);
  const ranked = scores
    .map((score, index): RankedText => ({ index, score }))
    .sort((a, b) => b.score - a.score);
  const kept = choices.topK === null ? ranked : ranked.slice(0, choices.topK);
  if (choices.returnText) for (const entry of kept) entry.text = texts[entry.index];
  return kept;
}

export class TextRankingPipeline extends Pipeline {
  constructor(task: string, loaded: LoadedModel) {
    super(task, loaded);
    const { numLabels, id2label } = this.config;
    if (numLabels !== 1) {
      throw new UserError(
        `text-ranking needs a cross-encoder, a sequence-classification model with one label (num_labels 1), but ${loaded.dir} has ${numLabels} (${Object.values(id2label).join(", ")}): use a reranker such as cross-encoder/ms-marco-MiniLM-L6-v2, or run this model as text-classification`,
      );
    }
  }

  /** Each text's raw logit as an answer to `query`, long pairs cut as `run` cuts them by default. */
  scores(query: string, texts: string[], batchSize = DEFAULT_BATCH_SIZE): Float32Array {
    return this.logits(this.encodePairs(query, texts, this.truncation()), batchSize);
  }

  /** `texts` ranked as answers to `query`, best first. */
  async run(
    query: string,
    texts: string[],
    options: TextRankingOptions = {},
  ): Promise<RankedText[]> {
    const reader = new OptionReader(this.task, options as Record<string, unknown>, OPTIONS);
    const choices: RankingChoices = {
      topK: reader.intOrNull("top_k", null),
      rawScores: reader.bool("raw_scores", false),
      returnText: reader.bool("return_text", false),
    };
    const truncation = this.truncation(readTruncation(reader));
    const batchSize = reader.int("batch_size", DEFAULT_BATCH_SIZE);
    return rankTexts(
      this.logits(this.encodePairs(query, texts, truncation), batchSize),
      texts,
      choices,
    );
  }

  /**
   * The server's batches: (query, text) pairs of many requests as {"text", "text_pair"}, answered
   * with each pair's raw logit; each request ranks its own (rankTexts).
   */
  override async runBatch(inputs: unknown[], options: object): Promise<unknown[]> {
    const reader = new OptionReader(this.task, options as Record<string, unknown>, BATCH_OPTIONS);
    const truncation = this.truncation(readTruncation(reader));
    const batchSize = reader.int("batch_size", DEFAULT_BATCH_SIZE);
    const encodings = inputs.map((input) => {
      const pair = input as TextPair;
      if (typeof pair?.text !== "string" || typeof pair.text_pair !== "string") {
        throw new UserError(
          `text-ranking's batches are {"text": query, "text_pair": text} pairs, got ${JSON.stringify(input)}`,
        );
      }
      return this.encode(pair.text, pair.text_pair, truncation);
    });
    return Array.from(this.logits(encodings, batchSize));
  }

  /** The truncation asked for, else CrossEncoder's: longest first, at what the model reads. */
  private truncation(asked: Partial<Truncation> = {}): Truncation {
    return {
      truncation: asked.truncation ?? true,
      maxLength:
        asked.maxLength ??
        Math.min(this.tokenizer.modelMaxLength, this.config.maxPositionEmbeddings),
    };
  }

  private encodePairs(query: string, texts: string[], truncation: Truncation): Encoding[] {
    if (
      typeof query !== "string" ||
      !Array.isArray(texts) ||
      !texts.every((text) => typeof text === "string")
    ) {
      throw new UserError(
        `text-ranking takes a query and a list of texts to rank, got ${JSON.stringify(query)} and ${JSON.stringify(texts)}`,
      );
    }
    return texts.map((text) => this.encode(query, text, truncation));
  }

  /** One logit per encoding: the model has one label. */
  private logits(encodings: Encoding[], batchSize: number): Float32Array {
    const logits = new Float32Array(encodings.length);
    this.forwardBatches(encodings, batchSize, (outputs, first, count) => {
      logits.set(outputOf(outputs, "logits").subarray(0, count), first);
    });
    return logits;
  }
}
