// Question-answering post-processing as transformers 4's QuestionAnsweringPipeline does it, for
// one window of the context: a softmax over the tokens that may hold the answer, span scores
// p(start) * p(end) for spans of at most `maxAnswerLength` tokens, the best `topK`, and the
// no-answer score from [CLS]; then each span widened to whole words and mapped to characters.

import { topKIndices } from "./math.js";

export interface SpanCandidate {
  /** Token positions in the window, inclusive. */
  startToken: number;
  endToken: number;
  score: number;
}

export interface WindowSpans {
  spans: SpanCandidate[];
  /** p(start = [CLS]) * p(end = [CLS]): the window's vote for "no answer". */
  nullScore: number;
}

/**
 * `allowed[i]` is true for tokens that may start or end the answer: the context's tokens that are
 * not padding, and the [CLS] at 0. Others get logit -10000 before the softmax, as transformers 4
 * does; [CLS] takes part in the softmax (its probabilities make the null score), but no span
 * starts or ends there.
 */
export function selectSpans(
  startLogits: ArrayLike<number>,
  endLogits: ArrayLike<number>,
  allowed: ArrayLike<boolean>,
  topK: number,
  maxAnswerLength: number,
): WindowSpans {
  const length = allowed.length;
  const startProbs = maskedSoftmax(startLogits, allowed);
  const endProbs = maskedSoftmax(endLogits, allowed);
  const nullScore = startProbs[0] * endProbs[0];

  // Every span with start <= end < start + maxAnswerLength inside the allowed tokens, [CLS] left
  // out. (transformers also lets zero-score spans through when top_k exceeds the real ones, even
  // with end < start; those are not answers, so they are not offered here.)
  const candidates: SpanCandidate[] = [];
  for (let s = 1; s < length; s++) {
    if (!allowed[s]) continue;
    const last = Math.min(length - 1, s + maxAnswerLength - 1);
    for (let e = s; e <= last; e++) {
      if (allowed[e])
        candidates.push({ startToken: s, endToken: e, score: startProbs[s] * endProbs[e] });
    }
  }
  const spans = topKIndices(
    candidates.map((candidate) => candidate.score),
    topK,
  ).map((i) => candidates[i]);
  return { spans, nullScore };
}

function maskedSoftmax(logits: ArrayLike<number>, allowed: ArrayLike<boolean>): Float64Array {
  const length = allowed.length;
  const out = new Float64Array(length);
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < length; i++) {
    out[i] = allowed[i] ? logits[i] : -10000;
    max = Math.max(max, out[i]);
  }
  let sum = 0;
  for (let i = 0; i < length; i++) {
    out[i] = Math.exp(out[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < length; i++) out[i] /= sum;
  return out;
}

/** The parts of one encoded window the character mapping needs. */
export interface WindowTokens {
  tokens: string[];
  offsets: [number, number][];
  sequenceIds: (number | null)[];
}

/**
 * Character span of tokens `startToken..endToken`, widened to the whole words they fall in
 * (transformers' align_to_words): a word is a first piece and the "##" pieces after it, within
 * the same sequence of this window.
 */
export function spanToCharacters(
  window: WindowTokens,
  startToken: number,
  endToken: number,
  continuationPrefix = "##",
): [number, number] {
  const { tokens, sequenceIds } = window;
  const sameWord = (i: number) =>
    tokens[i].startsWith(continuationPrefix) && sequenceIds[i - 1] === sequenceIds[i];
  let first = startToken;
  while (first > 0 && sameWord(first)) first--;
  let last = endToken;
  while (last + 1 < tokens.length && sameWord(last + 1)) last++;
  return [window.offsets[first][0], window.offsets[last][1]];
}

export interface Answer {
  score: number;
  start: number;
  end: number;
  answer: string;
}

/**
 * The answers of every window merged: each window's top spans, plus the empty answer with the
 * smallest null score when impossible answers are allowed, best first, cut to `topK`.
 */
export function mergeWindowAnswers(
  perWindow: { answers: Answer[]; nullScore: number }[],
  topK: number,
  handleImpossibleAnswer: boolean,
): Answer[] {
  const answers = perWindow.flatMap((window) => window.answers);
  if (handleImpossibleAnswer) {
    // transformers starts the minimum at 1e6, so no window still gives 1e6.
    const nullScore = Math.min(1_000_000, ...perWindow.map((window) => window.nullScore));
    answers.push({ score: nullScore, start: 0, end: 0, answer: "" });
  }
  answers.sort((a, b) => b.score - a.score);
  return answers.slice(0, topK);
}
