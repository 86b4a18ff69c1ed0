// Masked-token accuracy and loss: the share of masked tokens whose original token is the model's
// top prediction, and the mean cross-entropy there. Logits are computed at the masked rows only.

import { Rng } from "../models/rng.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { IGNORE_INDEX, Masker, type PackedRows, packCorpus } from "./mlm-data.js";
import type { RowMaskedLM } from "./row-mlm.js";

export interface MlmScore {
  accuracy: number;
  loss: number;
  /** Masked tokens scored. */
  tokens: number;
}

/** [rows, seq] token ids, mask and labels (-100 where nothing is predicted), maybe token types. */
export interface MaskedRows {
  inputIds: Int32Array;
  attentionMask: Float32Array;
  labels: Int32Array;
  tokenTypeIds?: Int32Array;
  count: number;
  seqLen: number;
}

/**
 * The evaluation masking: 15% of the real tokens, chosen uniformly over the whole corpus, 80/10/10,
 * from a fixed seed, so every model is scored on the same masks.
 */
export function maskForEvaluation(rows: PackedRows, tokenizer: Tokenizer, seed = 0): MaskedRows {
  const masker = Masker.forTokenizer(tokenizer, 0.15);
  const masked = masker.mask(rows.ids, tokenizer.padTokenId, new Rng(seed));
  return { ...masked, count: rows.count, seqLen: rows.seqLen };
}

/** A corpus's texts packed into rows of `seqLen` and masked for evaluation. */
export function corpusForEvaluation(
  lines: string[],
  tokenizer: Tokenizer,
  seqLen: number,
  seed = 0,
): MaskedRows {
  return maskForEvaluation(packCorpus(lines, tokenizer, seqLen), tokenizer, seed);
}

export function evaluateMlm(model: RowMaskedLM, data: MaskedRows, batchSize = 32): MlmScore {
  const vocab = model.config.vocabSize;
  const { seqLen } = data;
  let correct = 0;
  let lossSum = 0;
  let tokens = 0;
  for (let first = 0; first < data.count; first += batchSize) {
    const batch = Math.min(batchSize, data.count - first);
    const span = [first * seqLen, (first + batch) * seqLen] as const;
    const labels = data.labels.subarray(...span);
    const rows: number[] = [];
    for (let r = 0; r < labels.length; r++) if (labels[r] !== IGNORE_INDEX) rows.push(r);
    if (rows.length === 0) continue;
    const { logits } = model.forward(
      {
        inputIds: data.inputIds.subarray(...span),
        attentionMask: data.attentionMask.subarray(...span),
        tokenTypeIds: data.tokenTypeIds?.subarray(...span),
        batch,
        seq: seqLen,
      },
      Int32Array.from(rows),
    );
    rows.forEach((r, i) => {
      const offset = i * vocab;
      let best = 0;
      let max = Number.NEGATIVE_INFINITY;
      for (let v = 0; v < vocab; v++) {
        if (logits[offset + v] > max) {
          max = logits[offset + v];
          best = v;
        }
      }
      let sum = 0;
      for (let v = 0; v < vocab; v++) sum += Math.exp(logits[offset + v] - max);
      lossSum += max + Math.log(sum) - logits[offset + labels[r]];
      if (best === labels[r]) correct += 1;
      tokens += 1;
    });
  }
  return {
    accuracy: tokens === 0 ? 0 : correct / tokens,
    loss: tokens === 0 ? 0 : lossSum / tokens,
    tokens,
  };
}
