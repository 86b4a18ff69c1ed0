// The pipelines' post-processing on hand-made logits: fill-mask targets, classification
// functions, NER aggregation, question-answering spans and windows, zero-shot, pooling, search.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pool } from "../src/models/pooling.js";
import {
  mergeWindowAnswers,
  selectSpans,
  spanToCharacters,
} from "../src/pipelines/answer-spans.js";
import {
  applyClassificationFunction,
  bestLabel,
  defaultClassificationFunction,
  rankLabels,
} from "../src/pipelines/classification.js";
import { aggregateEntities, gatherPreEntities, type PreEntity } from "../src/pipelines/entities.js";
import { predictMask } from "../src/pipelines/fill-mask.js";
import { softmax, topKIndices } from "../src/pipelines/math.js";
import { findEntailmentId, zeroShotScores } from "../src/pipelines/nli.js";
import { nearestRows } from "../src/pipelines/semantic-search.js";

const close = (actual: number, expected: number, tolerance = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} vs ${expected}`);

describe("math", () => {
  test("softmax sums to one and survives large logits", () => {
    const p = softmax([1000, 1001, 1002]);
    close(
      p.reduce((a, b) => a + b),
      1,
    );
    close(p[2] / p[1], Math.E, 1e-9);
  });
  test("topKIndices: largest first, ties in index order, capped at the length", () => {
    assert.deepEqual(topKIndices([0.1, 0.5, 0.3, 0.5, 0.2], 3), [1, 3, 2]);
    assert.deepEqual(topKIndices([2, 1], 5), [0, 1]);
  });
});

describe("fill-mask", () => {
  const logits = Float32Array.from([9, 0, Math.log(2), Math.log(3), 0, 0]);
  test("softmax over the vocabulary, best first", () => {
    const top = predictMask(logits, 2, 4, 2, null);
    assert.deepEqual(
      top.map((p) => p.token),
      [1, 0],
    );
    close(top[0].score, 3 / 7, 1e-6);
  });
  test("targets keep their vocabulary probabilities and cap top_k", () => {
    const top = predictMask(logits, 2, 4, 5, [2, 0]);
    assert.deepEqual(
      top.map((p) => p.token),
      [0, 2],
    );
    close(top[0].score, 2 / 7, 1e-6);
  });
});

describe("text-classification", () => {
  test("default function: none for regression, sigmoid for one label or multi-label, else softmax", () => {
    assert.equal(defaultClassificationFunction("regression", 1), "none");
    assert.equal(defaultClassificationFunction(null, 1), "sigmoid");
    assert.equal(defaultClassificationFunction("multi_label_classification", 4), "sigmoid");
    assert.equal(defaultClassificationFunction(null, 2), "softmax");
    assert.equal(defaultClassificationFunction("single_label_classification", 2), "softmax");
  });
  test("scores and ranking", () => {
    const id2label = { 0: "neg", 1: "pos" };
    close(applyClassificationFunction([0, 0], "sigmoid")[0], 0.5);
    assert.deepEqual(applyClassificationFunction([3, -1], "none"), [3, -1]);
    const scores = applyClassificationFunction([0, Math.log(3)], "softmax");
    const best = bestLabel(scores, id2label);
    assert.equal(best.label, "pos");
    close(best.score, 0.75);
    assert.deepEqual(
      rankLabels(scores, id2label, null).map((s) => s.label),
      ["pos", "neg"],
    );
    assert.equal(rankLabels(scores, id2label, 1).length, 1);
    assert.equal(rankLabels(scores, {}, null)[0].label, "LABEL_1");
  });
});

describe("token-classification", () => {
  const id2label = { 0: "O", 1: "B-ORG", 2: "I-ORG", 3: "B-PER", 4: "I-PER" };
  const context = {
    id2label,
    tokensToString: (tokens: string[]) => tokens.join(" ").replaceAll(" ##", ""),
  };
  const one = (label: number, p = 0.6) =>
    [0, 1, 2, 3, 4].map((i) => (i === label ? p : (1 - p) / 4));
  // "Microsoft hired Ada Lovelace": micro ##soft hired ada love ##lace
  const pre = (labels: number[][]): PreEntity[] => {
    const words = [
      ["micro", 0, 5, false],
      ["##soft", 5, 9, true],
      ["hired", 10, 15, false],
      ["ada", 16, 19, false],
      ["love", 20, 24, false],
      ["##lace", 24, 28, true],
    ] as const;
    return words.map(([word, start, end, isSubword], i) => ({
      word,
      start,
      end,
      isSubword,
      index: i + 1,
      scores: labels[i],
    }));
  };
  const labels = [one(1, 0.5), one(4, 0.9), one(0), one(3), one(4), one(2, 0.4)];

  test("none: one entry per token, O dropped", () => {
    const out = aggregateEntities(pre(labels), "none", ["O"], context);
    assert.deepEqual(
      out.map((e) => ("entity" in e ? [e.entity, e.word, e.index] : [])),
      [
        ["B-ORG", "micro", 1],
        ["I-PER", "##soft", 2],
        ["B-PER", "ada", 4],
        ["I-PER", "love", 5],
        ["I-ORG", "##lace", 6],
      ],
    );
  });
  test("simple: adjacent tokens grouped by type, a B- starts a new group", () => {
    const out = aggregateEntities(pre(labels), "simple", ["O"], context);
    assert.deepEqual(
      out.map((e) => ("entity_group" in e ? [e.entity_group, e.word, e.start, e.end] : [])),
      [
        ["ORG", "micro", 0, 5],
        ["PER", "##soft", 5, 9],
        ["PER", "ada love", 16, 24],
        ["ORG", "##lace", 24, 28],
      ],
    );
    close(out[2].score, 0.6);
  });
  test("first: the word takes its first piece's label", () => {
    const out = aggregateEntities(pre(labels), "first", ["O"], context);
    assert.deepEqual(
      out.map((e) => ("entity_group" in e ? [e.entity_group, e.word, e.start, e.end] : [])),
      [
        ["ORG", "microsoft", 0, 9],
        ["PER", "ada lovelace", 16, 28],
      ],
    );
    close(out[0].score, 0.5);
  });
  test("max: the word takes the label of its most confident piece", () => {
    const out = aggregateEntities(pre(labels), "max", ["O"], context);
    assert.equal(out[0].word, "microsoft");
    assert.equal("entity_group" in out[0] && out[0].entity_group, "PER");
    close(out[0].score, 0.9);
  });
  test("average: the word takes the best of its pieces' mean scores", () => {
    const out = aggregateEntities(pre(labels), "average", [], context);
    // microsoft: mean of B-ORG 0.5 / I-PER 0.9 pieces -> I-PER (0.9 + 0.125) / 2.
    assert.equal("entity_group" in out[0] && out[0].entity_group, "PER");
    close(out[0].score, (0.9 + 0.125) / 2);
    // ignore_labels [] keeps the O word.
    assert.equal(out[1].word, "hired");
  });
  test("labels without B-/I- continue each other; B- after B- does not merge", () => {
    const plain = {
      id2label: { 0: "O", 1: "DATE", 2: "B-X" },
      tokensToString: context.tokensToString,
    };
    const p = (label: number): number[] => [0, 1, 2].map((i) => (i === label ? 0.8 : 0.1));
    const entities = [p(1), p(1), p(2), p(2)].map((scores, i) => ({
      word: `w${i}`,
      scores,
      start: i * 3,
      end: i * 3 + 2,
      index: i + 1,
      isSubword: false,
    }));
    const out = aggregateEntities(entities, "simple", ["O"], plain);
    assert.deepEqual(
      out.map((e) => e.word),
      ["w0 w1", "w2", "w3"],
    );
  });
  test("gatherPreEntities: subwords by length in code points, unknown tokens take the text", () => {
    const text = "Hi 😀 Ishmael";
    const row = (id: number, token: string, start: number, end: number, special = false) => ({
      id,
      token,
      start,
      end,
      special,
      scores: [1],
    });
    const rows = [
      row(101, "[CLS]", 0, 0, true),
      row(1, "hi", 0, 2),
      row(100, "[UNK]", 3, 5),
      row(2, "is", 6, 8),
      row(3, "##hma", 8, 11),
      row(4, "##el", 11, 13),
      row(102, "[SEP]", 0, 0, true),
    ];
    const out = gatherPreEntities(text, rows, 100);
    assert.deepEqual(
      out.map((e) => [e.word, e.isSubword, e.index]),
      [
        ["hi", false, 1],
        ["😀", false, 2],
        ["is", false, 3],
        ["##hma", true, 4],
        ["##el", true, 5],
      ],
    );
  });
});

describe("question-answering spans", () => {
  // [CLS] q q [SEP] c c c [SEP]: only 0 and the context (4..6) may be picked.
  const allowed = [true, false, false, false, true, true, true, false];
  const start = [0, 9, 0, 0, 1, 3, 0, 0];
  const end = [0, 0, 9, 0, 0, 1, 5, 0];
  const probs = (logits: number[]) => {
    const masked = logits.map((v, i) => (allowed[i] ? v : -10000));
    return softmax(masked);
  };
  const ps = probs(start);
  const pe = probs(end);

  test("softmax over allowed tokens only; [CLS] gives the null score then is excluded", () => {
    const { spans, nullScore } = selectSpans(start, end, allowed, 1, 15);
    close(nullScore, ps[0] * pe[0], 1e-12);
    assert.deepEqual(spans, [{ startToken: 5, endToken: 6, score: ps[5] * pe[6] }]);
  });
  test("spans end at or after their start and are at most max_answer_len tokens", () => {
    const one = selectSpans(start, end, allowed, 3, 1).spans;
    assert.ok(one.every((s) => s.endToken === s.startToken));
    assert.deepEqual(
      one.map((s) => s.startToken),
      [6, 5, 4],
    );
    const all = selectSpans(start, end, allowed, 100, 15).spans;
    assert.ok(
      all.every((s) => s.endToken >= s.startToken && allowed[s.startToken] && allowed[s.endToken]),
    );
    assert.deepEqual(
      all.map((s) => s.score),
      all.map((s) => s.score).sort((a, b) => b - a),
    );
  });
  test("characters: a span inside a word widens to the whole word, within its sequence", () => {
    const window = {
      tokens: ["[CLS]", "who", "[SEP]", "##el", "is", "##hma", "##el", "sailed", "[SEP]"],
      offsets: [
        [0, 0],
        [0, 3],
        [0, 0],
        [0, 2],
        [3, 5],
        [5, 8],
        [8, 10],
        [11, 17],
        [0, 0],
      ] as [number, number][],
      sequenceIds: [null, 0, null, 1, 1, 1, 1, 1, null],
    };
    assert.deepEqual(spanToCharacters(window, 5, 5), [3, 10]);
    assert.deepEqual(spanToCharacters(window, 6, 7), [3, 17]);
    // A window starting mid-word: the piece before it belongs to another window.
    assert.deepEqual(spanToCharacters(window, 3, 3), [0, 2]);
  });
  test("windows merged: best first, the empty answer scored by the smallest null score", () => {
    const a = { score: 0.5, start: 1, end: 2, answer: "a" };
    const b = { score: 0.2, start: 3, end: 4, answer: "b" };
    const merged = mergeWindowAnswers(
      [
        { answers: [b], nullScore: 0.3 },
        { answers: [a], nullScore: 0.1 },
      ],
      3,
      true,
    );
    assert.deepEqual(merged, [a, b, { score: 0.1, start: 0, end: 0, answer: "" }]);
    assert.deepEqual(mergeWindowAnswers([{ answers: [b, a], nullScore: 0.9 }], 1, false), [a]);
  });
});

describe("zero-shot", () => {
  test("the entailment label is found by name, any case", () => {
    assert.equal(findEntailmentId({ CONTRADICTION: 0, NEUTRAL: 1, ENTAILMENT: 2 }), 2);
    assert.equal(findEntailmentId({ entailment: 0, not_entailment: 1 }), 0);
    assert.equal(findEntailmentId({ LABEL_0: 0, LABEL_1: 1 }), -1);
  });
  // Two candidates, labels (contradiction, neutral, entailment).
  const logits = [1, 0, 2, 0, 5, 1];
  test("single label: softmax of the entailment logits across candidates", () => {
    const scores = zeroShotScores(logits, 2, 3, 2, false);
    close(scores[0], Math.exp(2) / (Math.exp(2) + Math.exp(1)));
  });
  test("multi-label: each candidate's entailment against its contradiction", () => {
    const scores = zeroShotScores(logits, 2, 3, 2, true);
    close(scores[0], Math.exp(2) / (Math.exp(2) + Math.exp(1)));
    close(scores[1], Math.exp(1) / (Math.exp(1) + Math.exp(0)));
  });
  test("entailment at 0: contradiction is the last label; one candidate is scored alone", () => {
    const scores = zeroShotScores([3, 0, 1], 1, 3, 0, false);
    close(scores[0], Math.exp(3) / (Math.exp(3) + Math.exp(1)));
  });
});

describe("pooling and search", () => {
  const hidden = Float32Array.from([1, 2, 3, 4, 100, 100]);
  test("mean over attended tokens; cls is the first token", () => {
    assert.deepEqual(Array.from(pool("mean", hidden, 0, [1, 1, 0], 2)), [2, 3]);
    assert.deepEqual(Array.from(pool("cls", hidden, 2, [1, 1], 2)), [3, 4]);
  });
  test("nearest rows by dot product, best first", () => {
    const matrix = Float32Array.from([1, 0, 0, 1, 0.6, 0.8]);
    const hits = nearestRows(matrix, 2, Float32Array.from([0, 1]), 2);
    assert.deepEqual(
      hits.map((h) => h.row),
      [1, 2],
    );
    close(hits[1].score, 0.8, 1e-6);
  });
});
