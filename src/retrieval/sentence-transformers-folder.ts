// The files that make a Hugging Face model folder a sentence-transformers model (its "modules"
// layout: the Transformer at the folder's root, then Pooling, then Normalize), so that Python's
// `SentenceTransformer(DIR)` loads what `distilbert train --task sentence-embedding` writes, and our
// own pipelines read the pooling from it (pipelines/load.ts modelPooling).

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import type { Pooling } from "../models/pooling.js";

export interface SentenceTransformerLayout {
  pooling: Pooling;
  /** The embedding width (the model's hidden size). */
  dimension: number;
  /** Tokens the model reads (sentence-transformers' max_seq_length). */
  maxSeqLength: number;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Writes modules.json, sentence_bert_config.json, config_sentence_transformers.json and 1_Pooling. */
export function writeSentenceTransformerFiles(
  dir: string,
  layout: SentenceTransformerLayout,
): void {
  const modules = [
    { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
    { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
    // Normalize keeps no files: sentence-transformers builds it from its type alone.
    { idx: 2, name: "2", path: "2_Normalize", type: "sentence_transformers.models.Normalize" },
  ];
  writeFileAtomic(join(dir, "modules.json"), json(modules));
  writeFileAtomic(
    join(dir, "sentence_bert_config.json"),
    json({ max_seq_length: layout.maxSeqLength, do_lower_case: false }),
  );
  writeFileAtomic(
    join(dir, "config_sentence_transformers.json"),
    json({
      model_type: "SentenceTransformer",
      prompts: {},
      default_prompt_name: null,
      similarity_fn_name: "cosine",
    }),
  );
  mkdirSync(join(dir, "1_Pooling"), { recursive: true });
  writeFileAtomic(
    join(dir, "1_Pooling", "config.json"),
    json({
      word_embedding_dimension: layout.dimension,
      pooling_mode_cls_token: layout.pooling === "cls",
      pooling_mode_mean_tokens: layout.pooling === "mean",
      pooling_mode_max_tokens: false,
      pooling_mode_mean_sqrt_len_tokens: false,
      pooling_mode_weightedmean_tokens: false,
      pooling_mode_lasttoken: false,
      include_prompt: true,
    }),
  );
}
