// Retrieval evaluation: the metrics against values worked out by hand, reading BEIR files and
// their faults, reranking's order, and `distilbert evaluate --task retrieval` on a small set cut
// from data/retrieval/sotu-ict-dev.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readBeirSet } from "../src/retrieval/beir.js";
import { rerank } from "../src/retrieval/evaluate.js";
import {
  meanRetrievalMetrics,
  queryMetrics,
  RETRIEVAL_METRICS,
  type RetrievalMetrics,
} from "../src/retrieval/metrics.js";
import { makeCrossEncoder } from "./cross-encoder-fixture.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const MODEL = "models/bert-mini-sotu";
const work = mkdtempSync(join(tmpdir(), "retrieval-eval-"));
after(() => rmSync(work, { recursive: true }));

function cli(args: string[]) {
  const result = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function assertMetrics(actual: RetrievalMetrics, expected: RetrievalMetrics) {
  for (const name of RETRIEVAL_METRICS) {
    assert.ok(
      Math.abs(actual[name] - expected[name]) < 1e-12,
      `${name}: ${actual[name]} != ${expected[name]}`,
    );
  }
}

const fillers = (count: number) => Array.from({ length: count }, (_, i) => `n${i + 1}`);

// Graded: d (3) is never retrieved, c is judged but not relevant (0), x is unjudged.
const gradedJudgments = new Map([
  ["a", 2],
  ["b", 1],
  ["c", 0],
  ["d", 3],
]);
const gradedRanking = ["c", "a", "x", "b"];
// nDCG@10 = (2 / log2 3 + 1 / log2 5) / (3 / log2 2 + 2 / log2 3 + 1 / log2 4)
const gradedNdcg = 0.35543595158098623;
// AP = (precision@2 + precision@4) / 3 relevant = (1/2 + 2/4) / 3
const gradedMetrics: RetrievalMetrics = {
  "ndcg@10": gradedNdcg,
  "mrr@10": 1 / 2,
  "recall@1": 0,
  "recall@10": 2 / 3,
  "recall@100": 2 / 3,
  "map@100": 1 / 3,
  map: 1 / 3,
};
// The only relevant document at rank 11: outside every @10 and @1, inside @100.
const eleventhRanking = [...fillers(10), "z"];
const eleventhMetrics: RetrievalMetrics = {
  "ndcg@10": 0,
  "mrr@10": 0,
  "recall@1": 0,
  "recall@10": 0,
  "recall@100": 1,
  "map@100": 1 / 11,
  map: 1 / 11,
};

test("metrics of one query: graded gains, two relevant documents retrieved, one missed", () => {
  assertMetrics(queryMetrics(gradedRanking, gradedJudgments), gradedMetrics);
});

test("metrics of one query: the relevant document at rank 11, then at rank 101", () => {
  assertMetrics(queryMetrics(eleventhRanking, new Map([["z", 1]])), eleventhMetrics);
  const beyond = queryMetrics([...fillers(100), "z"], new Map([["z", 1]]));
  for (const name of RETRIEVAL_METRICS) assert.equal(beyond[name], 0, name);
});

test("metrics of one query: the relevant document first scores 1 everywhere", () => {
  const perfect = queryMetrics(["e", ...fillers(5)], new Map([["e", 1]]));
  for (const name of RETRIEVAL_METRICS) assert.equal(perfect[name], 1, name);
});

test("the mean skips queries without a relevant document and rankings without qrels", () => {
  const qrels = new Map([
    ["q1", gradedJudgments],
    ["q2", new Map([["z", 1]])],
    ["q3", new Map([["y", 0]])],
  ]);
  const rankings = new Map([
    ["q1", gradedRanking],
    ["q2", eleventhRanking],
    ["q3", ["y"]],
    ["q4", ["a"]],
  ]);
  const { metrics, queries } = meanRetrievalMetrics(rankings, qrels);
  assert.equal(queries, 2);
  const mean = Object.fromEntries(
    RETRIEVAL_METRICS.map((name) => [name, (gradedMetrics[name] + eleventhMetrics[name]) / 2]),
  ) as RetrievalMetrics;
  assertMetrics(metrics, mean);
  assert.ok(Math.abs(metrics.map - 7 / 33) < 1e-12);
  assert.throws(
    () => meanRetrievalMetrics(rankings, new Map([["q3", new Map([["y", 0]])]])),
    /no query has a relevant document/,
  );
});

test("reranking reorders the top K by score (ties by id) and keeps the rest after them", () => {
  const textOf = new Map(["d1", "d2", "d3", "d9"].map((id) => [id, `text of ${id}`]));
  const scored: string[][] = [];
  const scores = (texts: string[]) => {
    scored.push(texts);
    return Float32Array.from(texts, (text) => (text.endsWith("d3") ? 0.1 : 0.5));
  };
  assert.deepEqual(rerank(scores, ["d3", "d2", "d1", "d9"], 3, textOf), ["d1", "d2", "d3", "d9"]);
  assert.deepEqual(scored, [["text of d3", "text of d2", "text of d1"]]);
});

let sets = 0;

/** Writes a BEIR set into a new folder under `work`; each argument is a file's contents. */
function writeSet(queries: string | Buffer, corpus: string, qrels: string) {
  const dir = join(work, `set-${sets++}`);
  const paths = {
    queries: join(dir, "queries.jsonl"),
    corpus: join(dir, "corpus.jsonl"),
    qrels: join(dir, "test.tsv"),
  };
  mkdirSync(dir);
  writeFileSync(paths.queries, queries);
  writeFileSync(paths.corpus, corpus);
  writeFileSync(paths.qrels, qrels);
  return paths;
}

const QUERIES = '{"_id": "q1", "text": "first"}\n{"_id": "q2", "text": "second"}\n';
const CORPUS = [
  '{"_id": "d1", "title": "Title", "text": "body one"}',
  '{"_id": "d2", "text": "body two"}',
  '{"_id": "d3", "title": "", "text": "body three"}',
].join("\n");
const QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\r\nq2\td3\t1\n";

test("reading a BEIR set: titles joined as BEIR embeds them, graded qrels", () => {
  const set = readBeirSet(writeSet(QUERIES, CORPUS, QRELS));
  assert.deepEqual(
    [...set.queries],
    [
      ["q1", "first"],
      ["q2", "second"],
    ],
  );
  assert.deepEqual(set.documents, [
    { id: "d1", text: "Title body one" },
    { id: "d2", text: "body two" },
    { id: "d3", text: "body three" },
  ]);
  assert.deepEqual(
    [...set.qrels].map(([query, judgments]) => [query, [...judgments]]),
    [
      [
        "q1",
        [
          ["d1", 2],
          ["d2", 0],
        ],
      ],
      ["q2", [["d3", 1]]],
    ],
  );
});

test("a faulty BEIR file is refused naming the file and line", () => {
  const refused = (paths: ReturnType<typeof writeSet>, file: string, message: RegExp) => {
    assert.throws(
      () => readBeirSet(paths),
      (error: Error) => {
        assert.equal(error.name, "UserError");
        assert.ok(error.message.startsWith(file), error.message);
        assert.match(error.message, message);
        return true;
      },
    );
  };
  let paths = writeSet(QUERIES, CORPUS, `${QRELS}q3\td1\t1\n`);
  refused(paths, paths.qrels, /line 5: query q3 is not in .*queries\.jsonl/);
  paths = writeSet(QUERIES, CORPUS, `${QRELS}q2\td7\t1\n`);
  refused(paths, paths.qrels, /line 5: document d7 is not in .*corpus\.jsonl/);
  paths = writeSet(QUERIES, CORPUS, "q1\td1\t1\n");
  refused(paths, paths.qrels, /line 1: the first line must be the header/);
  paths = writeSet(QUERIES, CORPUS, "query-id\tcorpus-id\tscore\n");
  refused(paths, paths.qrels, /has no judgments/);
  paths = writeSet(QUERIES, CORPUS, `${QRELS}q2\td1\thigh\n`);
  refused(paths, paths.qrels, /line 5: the score must be an integer/);
  paths = writeSet(QUERIES, CORPUS, `${QRELS}q2\td3\t2\n`);
  refused(paths, paths.qrels, /line 5: query q2 and document d3 are judged twice/);
  paths = writeSet(QUERIES, `${CORPUS}\n{"title": "t", "text": "no id"}\n`, QRELS);
  refused(paths, paths.corpus, /line 4: "_id" must be a string/);
  paths = writeSet(`${QUERIES}{"_id": "q1", "text": "again"}\n`, CORPUS, QRELS);
  refused(paths, paths.queries, /line 3: "_id" q1 is also on line 1/);
  paths = writeSet(
    Buffer.concat([
      Buffer.from(QUERIES),
      Buffer.from('{"_id": "q3", "text": "caf\xe9"}\n', "latin1"),
    ]),
    CORPUS,
    QRELS,
  );
  refused(paths, paths.queries, /line 3 \(byte \d+\) is not UTF-8 text/);
});

/**
 * A small set from the development set: 20 documents (one given a title), 5 queries that are
 * copies of documents (so the copy must rank first: every metric 1), a judgment of 0, and a query
 * with no relevant document (not scored).
 */
function sotuSlice() {
  const documents = readFileSync("data/retrieval/sotu-ict-dev/corpus.jsonl", "utf8")
    .split("\n")
    .slice(0, 20)
    .map((line) => JSON.parse(line) as { _id: string; title: string; text: string });
  documents[3].title = "Annual Message";
  const copied = [0, 3, 7, 12, 19].map((i) => documents[i]);
  const queries = copied.map((document, i) => ({
    _id: `q${i}`,
    text: `${document.title} ${document.text}`.trim(),
  }));
  queries.push({ _id: "q-none", text: "a query with no relevant document" });
  const qrels = [
    "query-id\tcorpus-id\tscore",
    ...copied.map((document, i) => `q${i}\t${document._id}\t1`),
    `q0\t${documents[5]._id}\t0`,
    `q-none\t${documents[1]._id}\t0`,
  ];
  const jsonLines = (rows: object[]) => rows.map((row) => JSON.stringify(row)).join("\n");
  const paths = writeSet(jsonLines(queries), jsonLines(documents), `${qrels.join("\n")}\n`);
  return ["--queries", paths.queries, "--corpus", paths.corpus, "--qrels", paths.qrels];
}

test("evaluate --task retrieval --json: one line of the metrics; --dims 64 too", () => {
  const files = sotuSlice();
  for (const dims of [[], ["--dims", "64"]]) {
    const args = ["evaluate", "--task", "retrieval", "--model", MODEL, ...files, ...dims];
    const { code, stdout, stderr } = cli([...args, "--json"]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim().split("\n").length, 1);
    const line = JSON.parse(stdout) as Record<string, number>;
    assert.deepEqual(Object.keys(line), [...RETRIEVAL_METRICS, "queries", "documents"]);
    assert.equal(line.queries, 5);
    assert.equal(line.documents, 20);
    for (const name of RETRIEVAL_METRICS) assert.ok(Math.abs(line[name] - 1) < 1e-9, name);
  }
  const tooMany = cli([
    "evaluate",
    "--task",
    "retrieval",
    "--model",
    MODEL,
    ...files,
    "--dims",
    "257",
  ]);
  assert.equal(tooMany.code, 1);
  assert.match(tooMany.stderr, /--dims must be a whole number from 1 to 256/);
});

test("evaluate --task retrieval with a reranker prints a table; wrong options are refused", async () => {
  const files = sotuSlice();
  const reranker = await makeCrossEncoder();
  try {
    const args = ["evaluate", "--task", "retrieval", "--model", MODEL, ...files];
    const { code, stdout, stderr } = cli([...args, "--reranker", reranker, "--top-k", "3"]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^reranker +.*, top 3$/m);
    assert.match(stdout, /^queries +5 /m);
    for (const name of RETRIEVAL_METRICS) {
      const value = Number(new RegExp(`^${name} +([0-9.]+)$`, "m").exec(stdout)?.[1]);
      assert.ok(value >= 0 && value <= 1, `${name} in ${stdout}`);
    }
    // Reranking reorders the top 3 only: what the top 10 and 100 hold is the dense retrieval's.
    assert.match(stdout, /^recall@10 +1\.0000$/m);
    const topK = cli([...args, "--top-k", "3"]);
    assert.equal(topK.code, 1);
    assert.match(topK.stderr, /--top-k .* give --reranker too/);
    const data = cli([...args, "--data", files[1]]);
    assert.equal(data.code, 1);
    assert.match(data.stderr, /--data does not apply to --task retrieval/);
  } finally {
    rmSync(reranker, { recursive: true });
  }
});
