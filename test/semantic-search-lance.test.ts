// Semantic search on LanceDB: dense hits against a brute-force cosine computed here, BM25 on a
// rare word, hybrid order against reciprocal rank fusion worked out by hand, the vector index on
// a corpus above a lowered threshold, the cross-encoder second stage, builds that fail, indexes
// of the old single-file format, and `predict semantic-search` end to end.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { connect } from "@lancedb/lancedb";
import { UserError } from "../src/errors.js";
import { writeSafetensors } from "../src/io/safetensors.js";
import {
  type FeatureExtractionPipeline,
  pipeline,
  type SearchHit,
  SemanticSearch,
} from "../src/pipelines/index.js";
import { RRF_K, reciprocalRankFusion } from "../src/pipelines/semantic-search.js";
import { makeCrossEncoder } from "./cross-encoder-fixture.js";

const MODEL = "test/fixtures/pipelines/models/feature-extraction-random";
const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const CORPUS = [
  "The whale swam beneath the ship.",
  "Congress shall make no law respecting religion.",
  "We must balance the federal budget.",
  "Call me Ishmael.",
  "The harpooneer Queequeg slept in the inn.",
  "The budget deficit grew again this year.",
  "A ship sailed from Nantucket in winter.",
  "The President signed the budget law.",
];

const scratch = mkdtempSync(join(tmpdir(), "semantic-search-lance-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let extractor: FeatureExtractionPipeline;
before(async () => {
  extractor = await pipeline("feature-extraction", MODEL);
});
let folders = 0;
const newPath = () => join(scratch, `index-${folders++}`);

/** Unit-length mean-pooled embeddings, as the index stores them. */
async function embed(texts: string[]): Promise<Float32Array[]> {
  const vectors = (await extractor.run(texts, { pooling: "mean", normalize: true })) as number[][];
  return vectors.map((vector) => Float32Array.from(vector));
}

/** Every corpus text's cosine with the query's embedding, best first (exact, in float64). */
async function bruteForce(query: string, corpus: string[]): Promise<SearchHit[]> {
  const [q] = await embed([query]);
  const vectors = await embed(corpus);
  return vectors
    .map((vector, index) => {
      let dot = 0;
      for (let i = 0; i < q.length; i++) dot += vector[i] * q[i];
      return { index, score: dot, text: corpus[index] };
    })
    .sort((a, b) => b.score - a.score);
}

function assertSameHits(actual: SearchHit[], expected: SearchHit[], tolerance = 1e-5) {
  assert.deepEqual(
    actual.map((hit) => [hit.index, hit.text]),
    expected.map((hit) => [hit.index, hit.text]),
  );
  actual.forEach((hit, i) => {
    assert.ok(
      Math.abs(hit.score - expected[i].score) < tolerance,
      `${hit.score} vs ${expected[i].score}`,
    );
  });
}

describe("queries", () => {
  let index: SemanticSearch;
  before(async () => {
    index = await SemanticSearch.build(newPath(), CORPUS, { model: MODEL });
  });

  test("dense: the same texts, order and cosines as a brute-force scan", async () => {
    for (const query of ["the budget of the nation", CORPUS[3], "whales and ships"]) {
      const expected = (await bruteForce(query, CORPUS)).slice(0, 4);
      assertSameHits(await index.search(query, { topK: 4 }), expected);
    }
  });

  test("bm25 finds the one text with a rare word first, and only texts with its words", async () => {
    const hits = await index.search("Queequeg", { mode: "bm25" });
    assert.deepEqual(
      hits.map((hit) => hit.index),
      [4],
    );
    const budget = await index.search("budget", { mode: "bm25", topK: 8 });
    assert.deepEqual(budget.map((hit) => hit.index).sort(), [2, 5, 7]);
  });

  test("hybrid: the two lists fused by reciprocal rank, worked out by hand", async () => {
    const query = "the federal budget law";
    const topK = CORPUS.length;
    const dense = await index.search(query, { topK, mode: "dense" });
    const bm25 = await index.search(query, { topK, mode: "bm25" });
    // Each list adds 1 / (60 + rank) for a text at that rank (from 1); ties keep the order in
    // which texts first appear, dense list first.
    const score = new Map<number, number>();
    for (const list of [dense, bm25]) {
      list.forEach((hit, i) => {
        score.set(hit.index, (score.get(hit.index) ?? 0) + 1 / (60 + i + 1));
      });
    }
    const expected = [...score]
      .sort((a, b) => b[1] - a[1])
      .map(([i, s]) => ({ index: i, score: s, text: CORPUS[i] }));
    assertSameHits(await index.search(query, { topK, mode: "hybrid" }), expected, 1e-12);
  });

  test("reciprocalRankFusion on numbers chosen by hand", () => {
    assert.equal(RRF_K, 60);
    const fused = reciprocalRankFusion([
      [3, 1, 2],
      [1, 4],
    ]);
    assert.deepEqual(
      fused.map((hit) => hit.index),
      [1, 3, 4, 2],
    );
    assert.ok(Math.abs(fused[0].score - (1 / 62 + 1 / 61)) < 1e-15);
    assert.ok(Math.abs(fused[3].score - 1 / 63) < 1e-15);
  });

  test("bad options are clear errors", async () => {
    await assert.rejects(
      index.search("x", { mode: "sparse" as "dense" }),
      /mode must be one of dense, bm25, hybrid/,
    );
    await assert.rejects(index.search("x", { topK: 0 }), UserError);
    await assert.rejects(index.search(3 as unknown as string), UserError);
  });
});

test("add appends after the corpus; a failed add leaves the index as it was", async () => {
  const path = newPath();
  const index = await SemanticSearch.build(path, CORPUS.slice(0, 4), { model: MODEL });
  await index.add(CORPUS.slice(4));
  assert.equal(index.size, CORPUS.length);
  assertSameHits(
    await index.search(CORPUS[6], { topK: 3 }),
    (await bruteForce(CORPUS[6], CORPUS)).slice(0, 3),
  );
  const failing = index.add(["one more", "and another"], {
    onProgress: () => {
      throw new Error("interrupted");
    },
  });
  await assert.rejects(failing, /interrupted/);
  // What an add killed between its writes leaves: rows after the last finished version.
  const documents = await (await connect(path)).openTable("documents");
  await documents.add([{ id: CORPUS.length, text: "stray", vector: (await embed(["stray"]))[0] }]);
  const opened = await SemanticSearch.open(path);
  assert.equal(opened.size, CORPUS.length);
  assert.deepEqual(await opened.search("stray", { mode: "bm25" }), []);
  await opened.add(["Queequeg again"]);
  assert.equal(opened.size, CORPUS.length + 1);
  assert.deepEqual(await opened.search("stray", { mode: "bm25" }), []);
  const again = await opened.search("Queequeg", { mode: "bm25", topK: 8 });
  assert.deepEqual(again.map((hit) => hit.index).sort(), [4, CORPUS.length]);
});

test("progress: every text counted, ending at the total", async () => {
  const seen: [number, number][] = [];
  await SemanticSearch.build(newPath(), CORPUS, {
    model: MODEL,
    batchSize: 3,
    onProgress: (embedded, total) => seen.push([embedded, total]),
  });
  assert.deepEqual(seen, [
    [3, 8],
    [6, 8],
    [8, 8],
  ]);
});

test("a build that fails midway leaves an index that refuses to open, even over a good one", async () => {
  const path = newPath();
  await SemanticSearch.build(path, CORPUS, { model: MODEL });
  const failing = SemanticSearch.build(path, CORPUS, {
    model: MODEL,
    onProgress: () => {
      throw new Error("interrupted");
    },
  });
  await assert.rejects(failing, /interrupted/);
  await assert.rejects(
    SemanticSearch.open(path),
    /unfinished semantic search index.*build it again/,
  );
  await assert.rejects(SemanticSearch.open(join(scratch, "missing")), /no semantic search index/);
});

test("above the threshold a vector index answers, finding the true nearest neighbour", async () => {
  const subjects = ["The whale", "A sailor", "The captain", "Congress", "The budget", "A ship"];
  const verbs = ["swam", "voted", "sailed", "grew", "slept", "signed"];
  const places = ["in the harbour", "at dawn", "near the inn", "this year", "on deck", "by law"];
  const corpus = subjects.flatMap((s) =>
    verbs.flatMap((v) => places.map((p) => `${s} ${v} ${p}.`)),
  );
  const path = newPath();
  const index = await SemanticSearch.build(path, corpus, { model: MODEL, annThreshold: 100 });
  const indices = await (await (await connect(path)).openTable("documents")).listIndices();
  assert.ok(
    indices.some((entry) => entry.columns.includes("vector")),
    "a vector index was built",
  );
  const queries = ["a whale sailed at dawn", "the captain voted by law", "Congress slept", "ships"];
  let found = 0;
  for (const query of [...queries, ...corpus.filter((_, i) => i % 23 === 0)]) {
    const exact = await bruteForce(query, corpus);
    const hits = await index.search(query, { topK: 3 });
    if (hits[0].index === exact[0].index) found += 1;
    // Best first, and each score the text's exact cosine.
    for (let i = 0; i < hits.length; i++) {
      if (i > 0) assert.ok(hits[i - 1].score >= hits[i].score);
      const cosine = exact.find((hit) => hit.index === hits[i].index)?.score as number;
      assert.ok(Math.abs(hits[i].score - cosine) < 1e-5, `${hits[i].score} vs ${cosine}`);
    }
  }
  const total = queries.length + Math.ceil(corpus.length / 23);
  assert.ok(found >= 0.8 * total, `true nearest neighbour first for ${found} of ${total}`);
});

test("a reranker reorders the candidates by the cross-encoder's logits", async () => {
  const reranker = await makeCrossEncoder();
  try {
    const index = await SemanticSearch.build(newPath(), CORPUS, { model: MODEL, reranker });
    const query = "who signed the budget?";
    const logits = (await pipeline("text-ranking", reranker)).scores(query, CORPUS);
    const expected = Array.from(logits, (score, i) => ({ index: i, score, text: CORPUS[i] }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 3);
    // Every text is a candidate, so the result is the cross-encoder's own top 3.
    assertSameHits(await index.search(query, { topK: 3, rerankTop: CORPUS.length }), expected);
  } finally {
    rmSync(reranker, { recursive: true, force: true });
  }
});

describe("indexes of the old single-file format", () => {
  test("are converted in place on open, the old file kept beside", async () => {
    const path = join(scratch, "old.index");
    const vectors = await embed(CORPUS);
    const size = vectors[0].length;
    const data = new Float32Array(CORPUS.length * size);
    vectors.forEach((vector, i) => {
      data.set(vector, i * size);
    });
    // What SemanticSearch.save wrote before indexes moved to LanceDB.
    writeSafetensors(
      path,
      { embeddings: { dtype: "F32", shape: [CORPUS.length, size], data } },
      { model: MODEL, pooling: "mean", texts: JSON.stringify(CORPUS) },
    );
    const index = await SemanticSearch.open(path);
    assert.ok(statSync(path).isDirectory());
    assert.ok(existsSync(`${path}.old-format`));
    assert.equal(index.size, CORPUS.length);
    const query = "the federal budget";
    const expected = (await bruteForce(query, CORPUS)).slice(0, 3);
    assertSameHits(await index.search(query, { topK: 3 }), expected);
    assertSameHits(await (await SemanticSearch.open(path)).search(query, { topK: 3 }), expected);
  });

  test("a file that is not an index is a clear error", async () => {
    const path = join(scratch, "not-an-index.txt");
    writeFileSync(path, "hello");
    await assert.rejects(SemanticSearch.open(path), UserError);
    await assert.rejects(SemanticSearch.build(path, CORPUS, { model: MODEL }), /is a file/);
  });
});

test("predict semantic-search: build, then bm25 and hybrid queries, from the command line", () => {
  const corpus = join(scratch, "docs.txt");
  writeFileSync(corpus, `${CORPUS.join("\n")}\n`);
  const index = newPath();
  const cli = (options: object, query: string) => {
    const args = ["predict", "semantic-search", "--model", MODEL];
    const result = spawnSync(
      process.execPath,
      [MAIN, ...args, "--options", JSON.stringify(options), query],
      { encoding: "utf8" },
    );
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout) as SearchHit[];
  };
  cli({ corpus, index }, "x");
  const [rare] = cli({ index, mode: "bm25", top_k: 1 }, "Queequeg");
  assert.deepEqual([rare.index, rare.text], [4, CORPUS[4]]);
  const hybrid = cli({ index, mode: "hybrid", top_k: 3 }, "the federal budget");
  assert.equal(hybrid.length, 3);
  assert.ok(hybrid.every((hit) => hit.text === CORPUS[hit.index]));
});
