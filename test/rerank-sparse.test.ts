// The text-ranking (cross-encoder) and sparse-embedding (SPLADE) pipelines: SPLADE's formula
// against a hand loop over a masked-LM's real logits, the reranker's scores against the same
// model run as a text classifier, ranking, sigmoid and raw scores, truncation, `predict`'s input
// for text-ranking, and the errors users meet.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { predictFunction } from "../src/cli/predict-function.js";
import { UserError } from "../src/errors.js";
import { packEncodings } from "../src/pipelines/base.js";
import { pipeline } from "../src/pipelines/index.js";
import { type Backend, createBackend } from "../src/tensor/index.js";
import { makeCrossEncoder } from "./cross-encoder-fixture.js";

const MLM_DIR = "models/bert-mini-sotu";
const CLASSIFIER_FIXTURE = "test/fixtures/pipelines/models/text-classification-random";

let backend: Backend;
before(async () => {
  backend = await createBackend("auto");
});

describe("sparse-embedding", () => {
  test("each weight is the max over tokens of log(1 + ReLU(logit)); only non-zero ones, by index", async () => {
    const splade = await pipeline("sparse-embedding", MLM_DIR, { backend });
    const text = "The Congress shall have power to lay and collect taxes.";
    const encoding = splade.tokenizer.encode(text, null);
    const packed = packEncodings([encoding], splade.tokenizer.padTokenId);
    const outputs = splade.model.forward({ ...packed, batch: 1 });
    const logits = outputs.logits as Float32Array;
    const vocab = splade.config.vocabSize;
    const expected = new Float64Array(vocab);
    for (let t = 0; t < encoding.ids.length; t++) {
      for (let v = 0; v < vocab; v++) {
        const weight = Math.log(1 + Math.max(0, logits[t * vocab + v]));
        expected[v] = Math.max(expected[v], weight);
      }
    }
    const sparse = await splade(text);
    const indices = sparse.map((entry) => entry.index);
    assert.deepEqual(
      indices,
      [...expected.keys()].filter((v) => expected[v] > 0),
      "the non-zero weights, by index",
    );
    assert.ok(indices.length > 0 && indices.length < vocab, `${indices.length} non-zero`);
    for (const { index, value } of sparse) {
      assert.ok(
        Math.abs(value - expected[index]) <= 1e-6,
        `${index}: ${value} vs ${expected[index]}`,
      );
    }
  });

  test("a batch with padding gives each text's own weights", async () => {
    const splade = await pipeline("sparse-embedding", MLM_DIR, { backend });
    const texts = ["We the people.", "A much longer sentence about the union of the states."];
    const batched = await splade(texts, { batch_size: 2 });
    for (const [i, text] of texts.entries()) {
      const alone = new Map((await splade(text)).map((e) => [e.index, e.value]));
      const together = new Map(batched[i].map((e) => [e.index, e.value]));
      // Padding moves the logits by float rounding only: compare as dense vectors.
      for (const index of new Set([...alone.keys(), ...together.keys()])) {
        const diff = Math.abs((alone.get(index) ?? 0) - (together.get(index) ?? 0));
        assert.ok(diff <= 1e-4, `text ${i}, index ${index}: ${diff}`);
      }
    }
  });

  test("refuses what is not text, unknown options, and a model without an MLM head", async () => {
    const splade = await pipeline("sparse-embedding", MLM_DIR, { backend });
    await assert.rejects(splade(42 as never), /takes a string or a list of strings/);
    await assert.rejects(splade("x", { top_k: 3 } as never), /no option 'top_k'/);
    await assert.rejects(
      pipeline("sparse-embedding", CLASSIFIER_FIXTURE, { backend }),
      (error) => error instanceof UserError && /masked-lm head/.test(error.message),
    );
  });
});

describe("text-ranking", () => {
  let crossEncoder: string;
  before(async () => {
    crossEncoder = await makeCrossEncoder();
  });
  after(() => rmSync(crossEncoder, { recursive: true, force: true }));

  const query = "Who sailed on the Pequod?";
  const texts = [
    "Ishmael sailed on the Pequod.",
    "It rained all week in the city.",
    "Captain Ahab commanded the ship.",
  ];

  test("scores are the one label's logits of the (query, text) pairs, query first", async () => {
    const ranker = await pipeline("text-ranking", crossEncoder, { backend });
    const classifier = await pipeline("text-classification", crossEncoder, { backend });
    const scores = ranker.scores(query, texts, 2);
    assert.ok(scores instanceof Float32Array);
    assert.equal(scores.length, texts.length);
    for (const [i, text] of texts.entries()) {
      const [{ score }] = (await classifier(
        { text: query, text_pair: text },
        { top_k: null, function_to_apply: "none" },
      )) as { score: number }[];
      assert.ok(Math.abs(scores[i] - score) <= 1e-5, `${i}: ${scores[i]} vs ${score}`);
    }
    const swapped = (await classifier(
      { text: texts[0], text_pair: query },
      { top_k: null, function_to_apply: "none" },
    )) as { score: number }[];
    assert.notEqual(scores[0], swapped[0].score, "the order of the pair matters");
  });

  test("run ranks best first: sigmoid scores, raw_scores, return_text, top_k", async () => {
    const ranker = await pipeline("text-ranking", crossEncoder, { backend });
    const logits = ranker.scores(query, texts);
    const order = [0, 1, 2].sort((a, b) => logits[b] - logits[a]);
    const ranked = await ranker(query, texts);
    assert.deepEqual(
      ranked.map((r) => r.index),
      order,
    );
    for (const { index, score, text } of ranked) {
      assert.ok(Math.abs(score - 1 / (1 + Math.exp(-logits[index]))) <= 1e-6);
      assert.equal(text, undefined);
    }
    const raw = await ranker(query, texts, { raw_scores: true, return_text: true, top_k: 2 });
    assert.deepEqual(
      raw,
      order.slice(0, 2).map((index) => ({ index, score: logits[index], text: texts[index] })),
    );
    assert.deepEqual(await ranker(query, []), []);
  });

  test("long pairs are cut longest-first by default; truncation false refuses them", async () => {
    const ranker = await pipeline("text-ranking", crossEncoder, { backend });
    const long = "the whale swam on and on ".repeat(100);
    const [cut] = await ranker(query, [long], { raw_scores: true });
    assert.ok(Number.isFinite(cut.score));
    assert.equal(ranker.scores(query, [long])[0], cut.score);
    await assert.rejects(ranker(query, [long], { truncation: false }), /max_position_embeddings/);
    const [second] = await ranker(query, [long], { truncation: "only_second", raw_scores: true });
    assert.equal(second.score, cut.score, "longest-first cuts the long text, as only_second");
  });

  test("refuses a model with several labels, bad inputs and options", async () => {
    await assert.rejects(
      pipeline("text-ranking", CLASSIFIER_FIXTURE, { backend }),
      (error) =>
        error instanceof UserError &&
        /num_labels 1.*has 3 \(negative, neutral, positive\)/.test(error.message),
    );
    const ranker = await pipeline("text-ranking", crossEncoder, { backend });
    await assert.rejects(ranker(42 as never, ["a"]), /a query and a list of texts/);
    await assert.rejects(ranker("q", "a" as never), /a query and a list of texts/);
    await assert.rejects(ranker("q", ["a"], { top_k: 0 }), /top_k must be/);
    await assert.rejects(ranker("q", ["a"], { normalize: true } as never), /no option/);
  });

  test("predict takes {query, texts} as its input line", async () => {
    const ranker = await pipeline("text-ranking", crossEncoder, { backend });
    const predict = await predictFunction(
      "text-ranking",
      crossEncoder,
      { return_text: true },
      {
        backend,
      },
    );
    assert.deepEqual(
      await predict(JSON.stringify({ query, texts })),
      await ranker(query, texts, { return_text: true }),
    );
    await assert.rejects(predict("just a query"), /takes \{"query": "...", "texts"/);
    await assert.rejects(predict(`{"query": "q", "texts": 3}`), /a query and a list of texts/);
  });
});
