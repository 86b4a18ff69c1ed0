// The server's retrieval routes, started for real on 127.0.0.1, as text-embeddings-inference
// answers them: /rerank (a cross-encoder), /embed_sparse (SPLADE on a masked-LM), /similarity,
// and OpenAI's /v1/embeddings with `dimensions` (Matryoshka) through the real `openai` client;
// each equal to the pipelines' own outputs, and their errors.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import {
  type Callable,
  type FeatureExtractionPipeline,
  pipeline,
  type SparseEmbeddingPipeline,
  type TextRankingPipeline,
} from "../src/pipelines/index.js";
import { InferenceServer } from "../src/server/server.js";
import { type Backend, createBackend } from "../src/tensor/index.js";
import { makeCrossEncoder } from "./cross-encoder-fixture.js";

/** The shipped BERT: a masked-LM (for SPLADE) with 256-wide embeddings (for `dimensions`). */
const BERT_DIR = "models/bert-mini-sotu";

async function post(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

function assertNear(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);
}

/** The first `dimensions` components of `vector`, at unit length. */
function shortened(vector: number[], dimensions: number): number[] {
  const kept = vector.slice(0, dimensions);
  const norm = Math.sqrt(kept.reduce((sum, v) => sum + v * v, 0));
  return kept.map((v) => v / norm);
}

describe("serve: /rerank, /embed_sparse, /similarity, /v1/embeddings dimensions", () => {
  let backend: Backend;
  let crossEncoder: string;
  let server: InferenceServer;
  let url: string;
  let ranker: Callable<TextRankingPipeline>;
  let splade: Callable<SparseEmbeddingPipeline>;
  let embedder: Callable<FeatureExtractionPipeline>;

  before(async () => {
    backend = await createBackend("auto");
    crossEncoder = await makeCrossEncoder();
    server = await InferenceServer.start({
      models: [
        { tasks: ["feature-extraction", "sparse-embedding"], model: BERT_DIR },
        { tasks: ["text-ranking"], model: crossEncoder },
      ],
      log: () => {},
    });
    url = `http://${await server.listen(0, "127.0.0.1")}`;
    ranker = await pipeline("text-ranking", crossEncoder, { backend });
    splade = await pipeline("sparse-embedding", BERT_DIR, { backend });
    embedder = await pipeline("feature-extraction", BERT_DIR, { backend });
  });
  after(async () => {
    await server.close();
    rmSync(crossEncoder, { recursive: true, force: true });
  });

  const query = "Who sailed on the Pequod?";
  const texts = [
    "It rained all week in the city.",
    "Ishmael sailed on the Pequod.",
    "Captain Ahab commanded the ship.",
  ];

  test("POST /rerank ranks as the pipeline: sigmoid scores, raw_scores, return_text", async () => {
    const answer = await post(`${url}/rerank`, { query, texts });
    assert.equal(answer.status, 200);
    const expected = await ranker(query, texts);
    const ranked = answer.json as { index: number; score: number; text?: string }[];
    assert.deepEqual(
      ranked.map((r) => r.index),
      expected.map((r) => r.index),
    );
    for (const [i, r] of ranked.entries()) {
      assertNear(r.score, expected[i].score, 1e-6, `score ${i}`);
      assert.deepEqual(Object.keys(r).sort(), ["index", "score"]);
    }
    const raw = await post(`${url}/rerank`, { query, texts, raw_scores: true, return_text: true });
    const logits = ranker.scores(query, texts);
    for (const r of raw.json as { index: number; score: number; text: string }[]) {
      assertNear(r.score, logits[r.index], 1e-5, `raw score of ${r.index}`);
      assert.equal(r.text, texts[r.index]);
    }
    // The task's own route answers as /rerank.
    assert.deepEqual((await post(`${url}/text-ranking`, { query, texts })).json, answer.json);
  });

  test("concurrent /rerank requests each rank their own texts", async () => {
    const queries = ["Who commanded the ship?", "What was the weather?", query];
    const answers = await Promise.all(
      queries.map((q) => post(`${url}/rerank`, { query: q, texts })),
    );
    for (const [i, answer] of answers.entries()) {
      const expected = await ranker(queries[i], texts);
      const ranked = answer.json as { index: number; score: number }[];
      for (const [k, r] of ranked.entries()) {
        assert.equal(r.index, expected[k].index, `query ${i}, place ${k}`);
        assertNear(r.score, expected[k].score, 1e-6, `query ${i}, place ${k}`);
      }
    }
  });

  test("/rerank: a long pair is 422 unless truncate, which cuts it", async () => {
    const long = "the whale swam on and on ".repeat(100);
    const refused = await post(`${url}/rerank`, { query, texts: [long] });
    assert.equal(refused.status, 422);
    assert.match((refused.json as { error: string }).error, /"truncate": true/);
    const cut = await post(`${url}/rerank`, { query, texts: [long], truncate: true });
    assert.equal(cut.status, 200);
    assertNear(
      (cut.json as { score: number }[])[0].score,
      (await ranker(query, [long]))[0].score,
      1e-6,
      "cut",
    );
  });

  test("POST /embed_sparse gives the pipeline's SPLADE weights, a list per text", async () => {
    const one = await post(`${url}/embed_sparse`, { inputs: texts[0] });
    assert.equal(one.status, 200);
    const several = await post(`${url}/embed_sparse`, { inputs: texts });
    const expected = await splade(texts);
    for (const [answer, wanted] of [
      [one.json, expected.slice(0, 1)],
      [several.json, expected],
    ]) {
      const lists = answer as { index: number; value: number }[][];
      assert.equal(lists.length, (wanted as unknown[]).length);
      for (const [i, list] of lists.entries()) {
        const dense = new Map(list.map((e) => [e.index, e.value]));
        const indices = list.map((e) => e.index);
        assert.deepEqual(
          indices,
          [...indices].sort((a, b) => a - b),
          "by index",
        );
        for (const { index, value } of (wanted as typeof expected)[i]) {
          // Batched with other texts, a weight near zero may round to zero: compare as dense.
          assertNear(dense.get(index) ?? 0, value, 1e-4, `text ${i}, index ${index}`);
        }
      }
    }
  });

  test("POST /similarity: the cosine of each sentence's embedding with the source's", async () => {
    const body = { inputs: { source_sentence: query, sentences: texts } };
    const answer = await post(`${url}/similarity`, body);
    assert.equal(answer.status, 200);
    const pooling = { pooling: "mean" as const, normalize: true };
    const source = (await embedder(query, pooling)) as number[];
    const vectors = (await embedder(texts, pooling)) as number[][];
    const cosines = answer.json as number[];
    assert.equal(cosines.length, texts.length);
    for (const [i, vector] of vectors.entries()) {
      const cosine = vector.reduce((sum, v, k) => sum + v * source[k], 0);
      assertNear(cosines[i], cosine, 1e-5, `sentence ${i}`);
    }
    const truncated = await post(`${url}/similarity`, { ...body, parameters: { truncate: true } });
    assert.equal(truncated.status, 200);
  });

  test("OpenAI's client: dimensions 64 in base64 is the full vector's first 64, renormalized", async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused" });
    const input = ["The president of the union.", "A ship at sea."];
    const full = (await embedder(input, { pooling: "mean", normalize: true })) as number[][];
    const result = await client.embeddings.create({
      model: "anything",
      input,
      dimensions: 64,
      encoding_format: "base64",
    });
    assert.equal(result.data.length, 2);
    for (const [i, { embedding }] of result.data.entries()) {
      // The client decodes base64 when it asked for it; the data is then a string.
      const values =
        typeof embedding === "string"
          ? decodeLittleEndian(embedding)
          : (embedding as unknown as number[]);
      assert.equal(values.length, 64);
      const expected = shortened(full[i], 64);
      for (const [k, value] of values.entries()) assertNear(value, expected[k], 1e-5, `${i}[${k}]`);
    }
    // The client's own decoding (it asks for base64 unless told) agrees.
    const decoded = await client.embeddings.create({ model: "m", input: input[0], dimensions: 64 });
    const expected = shortened(full[0], 64);
    for (const [k, value] of decoded.data[0].embedding.entries()) {
      assertNear(value, expected[k], 1e-5, `[${k}]`);
    }
  });

  test("/v1/embeddings base64 is little-endian float32, equal to the float answer", async () => {
    const body = { input: texts[0], model: "m", dimensions: 100 };
    const floats = await post(`${url}/v1/embeddings`, body);
    const base64 = await post(`${url}/v1/embeddings`, { ...body, encoding_format: "base64" });
    const vector = (floats.json as { data: { embedding: number[] }[] }).data[0].embedding;
    const encoded = (base64.json as { data: { embedding: string }[] }).data[0].embedding;
    assert.equal(vector.length, 100);
    assert.deepEqual(decodeLittleEndian(encoded), vector);
    const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
    assertNear(norm, 1, 1e-5, "unit length");
  });

  const badRequests: [string, string, unknown, number, RegExp][] = [
    ["/rerank", "no query", { texts }, 422, /"query" must be a text/],
    ["/rerank", "texts not a list", { query, texts: "one" }, 422, /"texts" must be a list/],
    ["/rerank", "no texts", { query, texts: [] }, 400, /"texts" is empty/],
    ["/rerank", "raw_scores not a flag", { query, texts, raw_scores: "yes" }, 422, /raw_scores/],
    ["/rerank", "an unknown field", { query, texts, top_n: 1 }, 422, /unknown field top_n/],
    ["/rerank", "too many texts", { query, texts: Array(33).fill("a") }, 422, /at most 32/],
    ["/embed_sparse", "a number", { inputs: 3 }, 422, /"inputs" must be a text/],
    ["/embed_sparse", "a prompt", { inputs: "a", prompt_name: "q" }, 422, /prompt_name/],
    ["/similarity", "inputs a text", { inputs: "a" }, 422, /"inputs" must be a JSON object/],
    ["/similarity", "no sentences", { inputs: { source_sentence: "a" } }, 422, /"sentences"/],
    [
      "/similarity",
      "a bad parameter",
      { inputs: { source_sentence: "a", sentences: ["b"] }, parameters: { top_k: 1 } },
      422,
      /unknown field top_k/,
    ],
    ["/v1/embeddings", "dimensions 0", { input: "a", dimensions: 0 }, 422, /from 1 to 256/],
    ["/v1/embeddings", "dimensions 257", { input: "a", dimensions: 257 }, 422, /from 1 to 256/],
    ["/v1/embeddings", "dimensions 1.5", { input: "a", dimensions: 1.5 }, 422, /from 1 to 256/],
  ];
  for (const [route, what, body, status, message] of badRequests) {
    test(`${route}: ${status} for ${what}`, async () => {
      const answer = await post(`${url}${route}`, body);
      assert.equal(answer.status, status);
      const json = answer.json as { error: string; error_type: string };
      assert.match(json.error, message);
      assert.equal(typeof json.error_type, "string");
    });
  }

  test("/info reports the reranker and the tasks; 404 lists the new routes", async () => {
    const info = (await (await fetch(`${url}/info`)).json()) as Record<string, unknown>;
    assert.deepEqual(info.model_type, { reranker: { id2label: { 0: "LABEL_0" } } });
    assert.deepEqual(info.tasks, ["feature-extraction", "sparse-embedding", "text-ranking"]);
    const missing = await post(`${url}/nope`, {});
    assert.equal(missing.status, 404);
    assert.match(
      (missing.json as { error: string }).error,
      /\/rerank.*\/embed_sparse|\/embed_sparse.*\/rerank/,
    );
  });
});

test("a route whose task is not served says which --task it needs", async () => {
  const server = await InferenceServer.start({
    models: [
      {
        tasks: ["feature-extraction"],
        model: "test/fixtures/pipelines/models/feature-extraction-random",
      },
    ],
    log: () => {},
  });
  try {
    const url = `http://${await server.listen(0, "127.0.0.1")}`;
    const rerank = await post(`${url}/rerank`, { query: "q", texts: ["a"] });
    assert.equal(rerank.status, 404);
    assert.match((rerank.json as { error: string }).error, /--task text-ranking/);
    const sparse = await post(`${url}/embed_sparse`, { inputs: "a" });
    assert.equal(sparse.status, 404);
    assert.match((sparse.json as { error: string }).error, /--task sparse-embedding/);
  } finally {
    await server.close();
  }
});

function decodeLittleEndian(base64: string): number[] {
  const bytes = Buffer.from(base64, "base64");
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}
