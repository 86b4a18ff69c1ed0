// Masked-language-model data: a corpus of lines tokenized into one stream and cut into
// fixed-length rows ([CLS] ... [SEP]), then masked afresh for every batch as DistilBERT's training
// code does: 15% of the real tokens are chosen, uniformly or favouring rare tokens
// (probability proportional to count^-smoothing), and of those 80% become [MASK], 10% a random
// token and 10% stay as they are.

import { UserError } from "../errors.js";
import { Rng } from "../models/rng.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { parseDataFile, rowError } from "../train/data-format.js";

export const IGNORE_INDEX = -100;

/** Rows of token ids, [count, seqLen], padded with the pad id where a row ends early. */
export interface PackedRows {
  ids: Int32Array;
  count: number;
  seqLen: number;
}

/**
 * A corpus's texts: one a line, or with a .jsonl or .csv name one a row, in its `textField`.
 * Blank texts are skipped. `name` is the file's name (its extension picks the format) or path.
 */
export function corpusLines(text: string, name: string, textField = "text"): string[] {
  let lines: string[];
  if (/\.(jsonl|csv)$/i.test(name)) {
    const file = parseDataFile(text, name);
    lines = file.rows.map((row) => {
      const value = row.fields[textField];
      if (typeof value !== "string") {
        throw rowError(file, row, `no text in '${textField}' (name the field with --text-field)`);
      }
      return value;
    });
  } else {
    lines = text.split(/\r?\n/);
  }
  lines = lines.filter((line) => line.trim().length > 0);
  if (lines.length === 0) throw new UserError(`the corpus ${name} has no text: one text a line`);
  return lines;
}

/** Tokenizes every line into one stream and cuts it into rows of seqLen tokens. */
export function packCorpus(lines: string[], tokenizer: Tokenizer, seqLen: number): PackedRows {
  if (!Number.isInteger(seqLen) || seqLen < 3) {
    throw new UserError(`the row length must be at least 3 tokens, got ${seqLen}`);
  }
  const body = seqLen - 2;
  const stream: number[] = [];
  for (const line of lines) {
    for (const id of tokenizer.encode(line, null, { addSpecialTokens: false }).ids) stream.push(id);
  }
  const count = Math.ceil(stream.length / body);
  const ids = new Int32Array(count * seqLen).fill(tokenizer.padTokenId);
  for (let row = 0; row < count; row++) {
    const piece = stream.slice(row * body, (row + 1) * body);
    const offset = row * seqLen;
    ids[offset] = tokenizer.clsTokenId;
    ids.set(piece, offset + 1);
    ids[offset + 1 + piece.length] = tokenizer.sepTokenId;
  }
  return { ids, count, seqLen };
}

/** How often each vocabulary id occurs in the rows. */
export function tokenCounts(rows: PackedRows, vocabSize: number): Float64Array {
  const counts = new Float64Array(vocabSize);
  for (const id of rows.ids) counts[id] += 1;
  return counts;
}

export interface MaskingOptions {
  vocabSize: number;
  maskTokenId: number;
  /** Never masked: [CLS], [SEP], [PAD], [MASK], [UNK]. */
  specialIds: number[];
  /** Share of the real tokens to predict; 0.15. */
  probability: number;
  /** 0: uniform; DistilBERT uses 0.7 with counts from the corpus. */
  smoothing: number;
  counts?: Float64Array;
}

export interface MaskedBatch {
  inputIds: Int32Array;
  /** The original token at predicted positions, -100 elsewhere. */
  labels: Int32Array;
  attentionMask: Float32Array;
}

export function specialIdsOf(tokenizer: Tokenizer): number[] {
  return [
    tokenizer.clsTokenId,
    tokenizer.sepTokenId,
    tokenizer.padTokenId,
    tokenizer.maskTokenId,
    tokenizer.unkTokenId,
  ];
}

export class Masker {
  /** Each id's weight for being chosen; 0 for special tokens. */
  private readonly weights: Float64Array;

  /** A masker for `tokenizer`'s vocabulary, never masking its special tokens. */
  static forTokenizer(
    tokenizer: Tokenizer,
    probability: number,
    smoothing = 0,
    counts?: Float64Array,
  ): Masker {
    const { vocabSize, maskTokenId } = tokenizer;
    const specialIds = specialIdsOf(tokenizer);
    return new Masker({ vocabSize, maskTokenId, specialIds, probability, smoothing, counts });
  }

  constructor(private readonly options: MaskingOptions) {
    const { vocabSize, smoothing, counts } = options;
    if (smoothing > 0 && !counts) throw new Error("smoothed masking needs token counts");
    this.weights = new Float64Array(vocabSize);
    for (let id = 0; id < vocabSize; id++) {
      this.weights[id] = smoothing > 0 ? Math.max(counts?.[id] ?? 0, 1) ** -smoothing : 1;
    }
    for (const id of options.specialIds) this.weights[id] = 0;
  }

  /**
   * Masks a batch of rows. Exactly ceil(probability x real tokens) positions are drawn without
   * replacement, each with chance proportional to its token's weight (exponential keys: the
   * smallest -log(u)/w win), as torch.multinomial without replacement.
   */
  mask(ids: Int32Array, padTokenId: number, rng: Rng): MaskedBatch {
    const { vocabSize, maskTokenId, probability } = this.options;
    const inputIds = Int32Array.from(ids);
    const labels = new Int32Array(ids.length).fill(IGNORE_INDEX);
    const attentionMask = new Float32Array(ids.length);
    const candidates: { position: number; key: number }[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] !== padTokenId) attentionMask[i] = 1;
      const weight = this.weights[ids[i]];
      if (weight > 0) candidates.push({ position: i, key: -Math.log(1 - rng.float()) / weight });
    }
    const target = Math.min(candidates.length, Math.ceil(probability * candidates.length));
    candidates.sort((a, b) => a.key - b.key);
    for (let c = 0; c < target; c++) {
      const { position } = candidates[c];
      labels[position] = ids[position];
      const choice = rng.float();
      if (choice < 0.8) inputIds[position] = maskTokenId;
      else if (choice < 0.9) inputIds[position] = rng.int(vocabSize);
    }
    return { inputIds, labels, attentionMask };
  }
}

/**
 * Batches of packed rows: an epoch is a shuffle of every row (seeded by the seed and the epoch),
 * cut into full batches, so a resumed run sees the same batches.
 */
export class RowSchedule {
  constructor(
    private readonly rows: PackedRows,
    private readonly batchSize: number,
    private readonly seed: number,
  ) {
    if (rows.count < batchSize) {
      throw new UserError(
        `the corpus makes ${rows.count} rows of ${rows.seqLen} tokens, fewer than one batch of ${batchSize}: use a smaller --batch-size or a larger corpus`,
      );
    }
  }

  get batchesPerEpoch(): number {
    return Math.floor(this.rows.count / this.batchSize);
  }

  /** The row indices of each of epoch `epoch`'s batches. */
  epochBatches(epoch: number): number[][] {
    const order = new Rng(this.seed, epoch).shuffle(
      Array.from({ length: this.rows.count }, (_, i) => i),
    );
    return Array.from({ length: this.batchesPerEpoch }, (_, b) =>
      order.slice(b * this.batchSize, (b + 1) * this.batchSize),
    );
  }

  /** The token ids of a batch's rows, [rows, seqLen]. */
  gather(batch: number[]): Int32Array {
    const { seqLen, ids } = this.rows;
    const out = new Int32Array(batch.length * seqLen);
    batch.forEach((row, b) => {
      out.set(ids.subarray(row * seqLen, (row + 1) * seqLen), b * seqLen);
    });
    return out;
  }
}
