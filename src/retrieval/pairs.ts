// Training pairs for embedding models and rerankers: read from a data file's fields (anchor,
// positive, optional hard negative, optional gold score), or made from plain passages by the
// inverse cloze task (Lee et al., 2019: one sentence of a passage is the query, the passage without
// it the document it should find), so any corpus becomes training data.

import { UserError } from "../errors.js";
import { Rng } from "../models/rng.js";
import { type DataFile, rowError } from "../train/data-format.js";
import { textField } from "../train/features.js";

export interface TextPair {
  anchor: string;
  positive: string;
  /** A hard negative for the anchor; null when the data has none. */
  negative: string | null;
  /** The pair's gold similarity (CoSENT) or relevance label (reranker); null when unscored. */
  score: number | null;
}

export interface PairFields {
  anchor: string;
  positive: string;
  negative: string | null;
  score: string | null;
}

export const DEFAULT_PAIR_FIELDS: PairFields = {
  anchor: "anchor",
  positive: "positive",
  negative: null,
  score: null,
};

/** The pairs of a JSON-lines or CSV file, by field name; a score must be a finite number. */
export function pairsFromFile(file: DataFile, fields: PairFields): TextPair[] {
  return file.rows.map((row) => {
    let score: number | null = null;
    if (fields.score !== null) {
      const value = row.fields[fields.score];
      score = typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN;
      if (typeof value === "number") score = value;
      if (!Number.isFinite(score)) {
        throw rowError(
          file,
          row,
          `'${fields.score}' must be a number, got ${JSON.stringify(value ?? null)}`,
        );
      }
    }
    return {
      anchor: textField(file, row, fields.anchor),
      positive: textField(file, row, fields.positive),
      negative: fields.negative === null ? null : textField(file, row, fields.negative),
      score,
    };
  });
}

// A period after these words ends an abbreviation, not a sentence.
const ABBREVIATIONS = new Set(
  "mr mrs ms dr st jr sr gen gov sen rep hon col capt lt sgt no vs etc inc co corp dept fig jan feb mar apr jun jul aug sep sept oct nov dec u.s u.s.a".split(
    " ",
  ),
);

/**
 * A passage's sentences: cut after ., ! or ? (and any closing quote or bracket) before white space
 * and a capital letter, digit or opening quote, except after an abbreviation or a single initial.
 */
export function splitSentences(passage: string): string[] {
  const sentences: string[] = [];
  const boundary = /[.!?]["')\]\u201d\u2019]*\s+(?=["'([\u201c\u2018]?[A-Z0-9])/g;
  let start = 0;
  for (let match = boundary.exec(passage); match !== null; match = boundary.exec(passage)) {
    const end = match.index + 1;
    const lastWord = /(\S+)$/.exec(passage.slice(start, end - 1))?.[1] ?? "";
    const word = lastWord.replace(/^["'([\u201c\u2018]+/, "").toLowerCase();
    if (ABBREVIATIONS.has(word) || /^[a-z]$/i.test(word)) continue;
    const sentence = passage.slice(start, match.index + match[0].length).trim();
    if (sentence) sentences.push(sentence);
    start = match.index + match[0].length;
  }
  const rest = passage.slice(start).trim();
  if (rest) sentences.push(rest);
  return sentences;
}

/**
 * Inverse-cloze pairs: for each passage of two or more sentences, one sentence as the anchor, the
 * passage without it as the positive, and another passage as it is as the negative (a corpus holds
 * whole passages, so the model must also learn to rank its positive above those). The sentence and
 * the negative are drawn by a generator seeded by `seed` and `epoch`, so a run is reproducible and
 * each epoch can take other sentences out. Passages of one sentence
 * give no pair (they can still be another pair's negative).
 */
export function inverseClozePairs(passages: string[], seed: number, epoch = 0): TextPair[] {
  // Streams from 1000 up are the inverse cloze task's, one an epoch.
  const rng = new Rng(seed, 1000 + epoch);
  const pairs: TextPair[] = [];
  passages.forEach((passage, p) => {
    const sentences = splitSentences(passage);
    if (sentences.length < 2) return;
    const pick = rng.int(sentences.length);
    // Any passage but this one (there are at least two when this one has a pair to make).
    const other =
      passages.length > 1 ? (p + 1 + rng.int(passages.length - 1)) % passages.length : p;
    pairs.push({
      anchor: sentences[pick],
      positive: sentences.filter((_, i) => i !== pick).join(" "),
      negative: other === p ? null : passages[other],
      score: null,
    });
  });
  if (pairs.length === 0) {
    throw new UserError(
      "no passage has two sentences or more: --pairs-from ict needs passages (one a line) of several sentences",
    );
  }
  return pairs;
}
