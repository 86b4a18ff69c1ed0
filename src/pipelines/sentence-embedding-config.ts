// What a sentence-transformers folder says about its embeddings: the pooling (1_Pooling/
// config.json), whether the vectors are normalised (a Normalize module in modules.json) and how
// many tokens it reads (sentence_bert_config.json's max_seq_length). Parsed from the files' text,
// so that Node (load.ts) and the browser (browser.ts) read folders the same way.

import { UserError } from "../errors.js";
import type { Pooling } from "../models/pooling.js";

export interface SentenceEmbeddingConfig {
  pooling: Pooling;
  normalize: boolean;
  /** Tokens an input is cut to; null: what the model reads. */
  maxSeqLength: number | null;
}

/** The files' text, each undefined when the folder lacks it. */
export interface SentenceEmbeddingFiles {
  "modules.json"?: string;
  "1_Pooling/config.json"?: string;
  "sentence_bert_config.json"?: string;
}

export const SENTENCE_EMBEDDING_FILES = [
  "modules.json",
  "1_Pooling/config.json",
  "sentence_bert_config.json",
] as const;

function parse(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
}

/** The pooling 1_Pooling/config.json asks for (mean when it says nothing), CLS or mean only. */
export function poolingOf(text: string | undefined, where: string): Pooling {
  if (text === undefined) return "mean";
  const config = parse(text, where) as Record<string, unknown>;
  if (config.pooling_mode_cls_token === true) return "cls";
  if (config.pooling_mode_mean_tokens === true || config.pooling_mode_mean_tokens === undefined) {
    return "mean";
  }
  throw new UserError(
    `${where} asks for a pooling other than mean or CLS, which this toolkit lacks`,
  );
}

/** The folder's settings; null when it is no sentence-transformers folder (no modules.json). */
export function sentenceEmbeddingConfig(
  files: SentenceEmbeddingFiles,
  folder: string,
): SentenceEmbeddingConfig | null {
  const modulesText = files["modules.json"];
  if (modulesText === undefined) return null;
  const modules = parse(modulesText, `${folder}/modules.json`);
  if (!Array.isArray(modules)) {
    throw new UserError(`${folder}/modules.json must be a list of modules`);
  }
  const normalize = modules.some(
    (module) => typeof module?.type === "string" && module.type.endsWith(".Normalize"),
  );
  const bertText = files["sentence_bert_config.json"];
  const bert =
    bertText === undefined
      ? {}
      : (parse(bertText, `${folder}/sentence_bert_config.json`) as Record<string, unknown>);
  const maxSeqLength =
    Number.isInteger(bert.max_seq_length) && (bert.max_seq_length as number) > 0
      ? (bert.max_seq_length as number)
      : null;
  return {
    pooling: poolingOf(files["1_Pooling/config.json"], `${folder}/1_Pooling/config.json`),
    normalize,
    maxSeqLength,
  };
}
