// Training embedding models and rerankers: inverse-cloze pairs, pair files, resume bit for bit
// through the one loop, GradCache equal to the uncached step, the sentence-transformers files, and
// a short run on the embedded teacher that finds held-out passages better than before.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfig } from "../src/io/config.js";
import { Checkpoint } from "../src/io/safetensors.js";
import { loadModel } from "../src/models/index.js";
import { pipeline } from "../src/pipelines/index.js";
import { modelPooling } from "../src/pipelines/load.js";
import { evaluateRetrieval } from "../src/retrieval/evaluate.js";
import { mineHardNegatives } from "../src/retrieval/pair-retrieval.js";
import {
  inverseClozePairs,
  pairsFromFile,
  splitSentences,
  type TextPair,
} from "../src/retrieval/pairs.js";
import {
  DEFAULT_EMBEDDING_RECIPE,
  type EmbeddingRecipe,
  matryoshkaDims,
  type RetrievalRun,
  trainEmbeddingModel,
  trainRerankerModel,
} from "../src/retrieval/recipes.js";
import { createBackend } from "../src/tensor/index.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { readCheckpoint, resolveCheckpoint } from "../src/train/checkpoint.js";
import { readCorpusLines } from "../src/train/data.js";
import { parseDataFile } from "../src/train/data-format.js";
import type { Reporter } from "../src/train/reporter.js";
import { silentReporter } from "../src/train/reporter.js";
import { abortAt, shortLoop, TEACHER, temporaryDir, tinyModelFolder } from "./train-helpers.js";

test("sentences are split at their ends, not after abbreviations or initials", () => {
  assert.deepEqual(
    splitSentences(
      'Mr. Smith went to the U.S. Senate. He spoke! "Why?" he asked. John F. Kennedy won 1960.',
    ),
    [
      "Mr. Smith went to the U.S. Senate.",
      "He spoke!",
      '"Why?" he asked.',
      "John F. Kennedy won 1960.",
    ],
  );
});

test("inverse-cloze pairs take one sentence out of each passage of two or more", () => {
  const passages = ["One. Two. Three.", "Alone here.", "First part. Second part."];
  const pairs = inverseClozePairs(passages, 1);
  assert.equal(pairs.length, 2, "the one-sentence passage gives no pair");
  for (const pair of pairs) {
    const passage = passages.find((p) => p.includes(pair.anchor)) as string;
    const rest = splitSentences(passage).filter((s) => s !== pair.anchor);
    assert.equal(pair.positive, rest.join(" "));
    assert.ok(
      passages.includes(pair.negative as string) && pair.negative !== passage,
      "another whole passage is the negative",
    );
  }
  assert.deepEqual(inverseClozePairs(passages, 1), pairs, "the same seed gives the same pairs");
  const long = [
    "Alpha one. Beta two. Gamma three. Delta four. Epsilon five.",
    "Zeta six. Eta seven. Theta eight. Iota nine. Kappa ten.",
  ];
  const anchors = (epoch: number) => inverseClozePairs(long, 1, epoch).map((pair) => pair.anchor);
  assert.ok(
    [1, 2, 3].some((epoch) => anchors(epoch).join() !== anchors(0).join()),
    "later epochs take other sentences out",
  );
  assert.throws(() => inverseClozePairs(["No second sentence"], 1), /two sentences/);
});

test("pair files: fields by name, scores as numbers, errors naming file and line", () => {
  const file = parseDataFile(
    '{"q": "a", "p": "b", "s": "0.5"}\n{"q": "c", "p": "d", "s": 1}\n',
    "pairs.jsonl",
  );
  assert.deepEqual(
    pairsFromFile(file, { anchor: "q", positive: "p", negative: null, score: "s" }),
    [
      { anchor: "a", positive: "b", negative: null, score: 0.5 },
      { anchor: "c", positive: "d", negative: null, score: 1 },
    ],
  );
  assert.throws(
    () => pairsFromFile(file, { anchor: "q", positive: "missing", negative: null, score: null }),
    /pairs.jsonl line 1: no field 'missing'/,
  );
  const bad = parseDataFile('{"q": "a", "p": "b", "s": "high"}\n', "bad.jsonl");
  assert.throws(
    () => pairsFromFile(bad, { anchor: "q", positive: "p", negative: null, score: "s" }),
    /bad.jsonl line 1: 's' must be a number/,
  );
});

test("Matryoshka dimensions: the full width added, widest first, each within the hidden size", () => {
  assert.deepEqual(matryoshkaDims([64, 128], 256), [256, 128, 64]);
  assert.deepEqual(matryoshkaDims([], 256), [256]);
  assert.throws(() => matryoshkaDims([512], 256), /1\.\.256/);
});

const WORDS =
  "tax war army navy trade bank farm school road coal oil wheat gold ship rail law court".split(
    " ",
  );

/** Pairs of texts sharing a topic word: learnable by a tiny model in a few steps. */
function topicPairs(count: number): TextPair[] {
  return Array.from({ length: count }, (_, i) => {
    const word = WORDS[i % WORDS.length];
    return {
      anchor: `the ${word} question`,
      positive: `a long report on ${word} and its ${word} policy`,
      negative: i % 2 === 0 ? `a report on ${WORDS[(i + 3) % WORDS.length]}` : null,
      score: null,
    };
  });
}

function retrievalRun(
  modelDir: string,
  outDir: string,
  pairs: TextPair[],
  options: { reporter?: Reporter; resumeFrom?: string; steps?: number } = {},
): RetrievalRun {
  const resume = options.resumeFrom ? readCheckpoint(resolveCheckpoint(options.resumeFrom)) : null;
  return {
    modelDir,
    backend: new ReferenceBackend(),
    pairs: () => pairs,
    evalPairs: null,
    batchSize: 4,
    maxLength: 24,
    storage: () => "F32",
    loop: shortLoop(outDir, options.steps ?? 6, "ndcg@10"),
    reporter: options.reporter ?? silentReporter,
    resume,
  };
}

const tiny = tinyModelFolder();
const recipe: EmbeddingRecipe = { ...DEFAULT_EMBEDDING_RECIPE, matryoshkaDims: [8] };

test("an interrupted sentence-embedding run resumes bit for bit", () => {
  const pairs = topicPairs(24);
  const whole = trainEmbeddingModel(retrievalRun(tiny, temporaryDir("emb-whole"), pairs), recipe);
  assert.equal(whole.steps.length, 6);
  assert.ok(whole.steps[0].parts.dim8 !== undefined, "the loss at each Matryoshka width is shown");
  const cut = temporaryDir("emb-cut");
  assert.throws(
    () => trainEmbeddingModel(retrievalRun(tiny, cut, pairs, { reporter: abortAt(4) }), recipe),
    /simulated interruption/,
  );
  const resumed = trainEmbeddingModel(retrievalRun(tiny, cut, pairs, { resumeFrom: cut }), recipe);
  assert.deepEqual(
    resumed.steps.map((s) => s.loss),
    whole.steps.slice(2).map((s) => s.loss),
  );
});

test("GradCache (a mini-batch size) gives the step the uncached batch gives", () => {
  // Without dropout both runs see the same vectors, so only the float order may differ.
  const noDropout = tinyModelFolder("bert", {
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
  });
  const pairs = topicPairs(8);
  const plain = temporaryDir("emb-plain");
  const cached = temporaryDir("emb-cached");
  trainEmbeddingModel(retrievalRun(noDropout, plain, pairs, { steps: 1 }), recipe);
  trainEmbeddingModel(retrievalRun(noDropout, cached, pairs, { steps: 1 }), {
    ...recipe,
    miniBatchSize: 3,
  });
  const a = Checkpoint.open(plain);
  const b = Checkpoint.open(cached);
  const before = Checkpoint.open(noDropout);
  let moved = 0;
  for (const name of a.names()) {
    const x = a.float32(name);
    const y = b.float32(name);
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) < 1e-5, name);
    // The source is a masked-LM checkpoint (keys under bert.); its pooler is new here.
    const source = before.has(name) ? name : `bert.${name}`;
    if (!before.has(source)) continue;
    const original = before.float32(source);
    for (let i = 0; i < x.length; i++) moved = Math.max(moved, Math.abs(x[i] - original[i]));
  }
  assert.ok(moved > 1e-4, "the step changed the weights");
});

test("the embedding folder is a sentence-transformers model that our pipelines read", async () => {
  const outDir = temporaryDir("emb-folder");
  trainEmbeddingModel(retrievalRun(tiny, outDir, topicPairs(8), { steps: 2 }), {
    ...recipe,
    pooling: "cls",
  });
  const modules = JSON.parse(readFileSync(join(outDir, "modules.json"), "utf8"));
  assert.deepEqual(
    modules.map((m: { path: string; type: string }) => [m.path, m.type.split(".").pop()]),
    [
      ["", "Transformer"],
      ["1_Pooling", "Pooling"],
      ["2_Normalize", "Normalize"],
    ],
  );
  const poolingConfig = JSON.parse(readFileSync(join(outDir, "1_Pooling", "config.json"), "utf8"));
  assert.equal(poolingConfig.word_embedding_dimension, 16);
  assert.equal(poolingConfig.pooling_mode_cls_token, true);
  assert.equal(poolingConfig.pooling_mode_mean_tokens, false);
  const bert = JSON.parse(readFileSync(join(outDir, "sentence_bert_config.json"), "utf8"));
  assert.equal(bert.max_seq_length, 24);
  const st = JSON.parse(readFileSync(join(outDir, "config_sentence_transformers.json"), "utf8"));
  assert.equal(st.similarity_fn_name, "cosine");
  assert.equal(modelPooling(outDir), "cls");
  // feature-extraction embeds as sentence-transformers would: the folder's pooling, unit length.
  const extractor = await pipeline("feature-extraction", outDir, { backend: "reference" });
  const vector = (await extractor("a long report on tax")) as number[];
  assert.equal(vector.length, 16);
  assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-6);
  const states = (await extractor("a long report on tax", {
    pooling: "cls",
    normalize: false,
  })) as number[];
  const norm = Math.hypot(...states);
  for (let i = 0; i < 16; i++) assert.ok(Math.abs(vector[i] - states[i] / norm) < 1e-6);
  extractor.model.dispose();
  assert.deepEqual(loadConfig(outDir).architectures, ["BertModel"]);
  loadModel(outDir, { backend: new ReferenceBackend() }).dispose();
  for (const name of ["tokenizer.json", "vocab.txt", "model.safetensors"]) {
    assert.ok(existsSync(join(outDir, name)), name);
  }
});

test("a reranker trains on pairs with random negatives into a one-label cross-encoder folder", async () => {
  const outDir = temporaryDir("reranker");
  const result = await trainRerankerModel(
    retrievalRun(tiny, outDir, topicPairs(12), { steps: 3 }),
    { negatives: 2, mineWith: null },
  );
  assert.equal(result.steps.length, 3);
  const config = JSON.parse(readFileSync(join(outDir, "config.json"), "utf8"));
  assert.deepEqual(config.architectures, ["BertForSequenceClassification"]);
  assert.equal(Object.keys(config.id2label).length, 1);
  // Scored pairs must carry labels in [0, 1].
  const scored = topicPairs(4).map((pair) => ({ ...pair, negative: null, score: 2 }));
  await assert.rejects(
    trainRerankerModel(retrievalRun(tiny, temporaryDir("reranker-bad"), scored), {
      negatives: 2,
      mineWith: null,
    }),
    /between 0 and 1/,
  );
});

/** The development set cut to its first `queries` queries, their passages and `others` more. */
function devSubset(
  queries: number,
  others: number,
): { queries: string; corpus: string; qrels: string } {
  const dir = temporaryDir("dev-subset");
  const source = "data/retrieval/sotu-ict-dev";
  const lines = (name: string) => readFileSync(join(source, name), "utf8").trim().split("\n");
  const kept = lines("queries.jsonl").slice(0, queries);
  const ids = new Set(kept.map((line) => JSON.parse(line)._id.replace("q", "d")));
  const relevant = lines("corpus.jsonl").filter((line) => ids.has(JSON.parse(line)._id));
  const rest = lines("corpus.jsonl").filter((line) => !ids.has(JSON.parse(line)._id));
  mkdirSync(join(dir, "qrels"));
  const write = (name: string, rows: string[]) =>
    writeFileSync(join(dir, name), `${rows.join("\n")}\n`);
  write("queries.jsonl", kept);
  write("corpus.jsonl", [...relevant, ...rest.slice(0, others)]);
  const qrels = lines("qrels/test.tsv").filter(
    (line, i) => i === 0 || ids.has(line.split("\t")[1]),
  );
  write("qrels/test.tsv", qrels);
  return {
    queries: join(dir, "queries.jsonl"),
    corpus: join(dir, "corpus.jsonl"),
    qrels: join(dir, "qrels/test.tsv"),
  };
}

test("a short inverse-cloze run on the teacher finds development-set passages better", async (t) => {
  const backend = await createBackend("auto");
  const set = devSubset(100, 400);
  const ndcg = async (model: string) =>
    (await evaluateRetrieval({ ...set, model, backend, batchSize: 32 })).metrics["ndcg@10"];
  const before = await ndcg(TEACHER);
  const passages = readCorpusLines("data/tasks/sotu-party.train.jsonl").slice(0, 512);
  const outDir = temporaryDir("emb-teacher");
  const run = retrievalRun(TEACHER, outDir, [], { steps: 16 });
  trainEmbeddingModel(
    {
      ...run,
      pairs: (epoch) => inverseClozePairs(passages, 5, epoch),
      backend,
      batchSize: 32,
      maxLength: 96,
      loop: { ...run.loop, lr: 3e-4, saveEvery: null },
    },
    DEFAULT_EMBEDDING_RECIPE,
  );
  const after = await ndcg(outDir);
  t.diagnostic(
    `nDCG@10 on 100 development queries, 500 passages: ${before.toFixed(3)} -> ${after.toFixed(3)}`,
  );
  assert.ok(after > before + 0.02, `nDCG@10 ${before.toFixed(3)} -> ${after.toFixed(3)}`);
});

test("hard negatives are the other positives an embedding ranks highest, near-duplicates skipped", () => {
  // A bag of three words as the embedding: each text's counts of "tax", "war" and "farm".
  const embed = (texts: string[]) =>
    texts.map((text) =>
      Float32Array.from(["tax", "war", "farm"], (w) => text.split(w).length - 1 + 0.01),
    );
  const pairs: TextPair[] = [
    { anchor: "tax", positive: "tax tax", negative: null, score: null },
    { anchor: "tax", positive: "tax tax tax", negative: null, score: null },
    { anchor: "tax war", positive: "tax war farm", negative: null, score: null },
    { anchor: "farm", positive: "farm", negative: null, score: null },
  ];
  const mined = mineHardNegatives(embed, new ReferenceBackend(), pairs, 1);
  // For the first anchor, "tax tax tax" scores as its own positive: a likely positive, skipped.
  assert.deepEqual(mined[0], ["tax war farm"]);
  assert.deepEqual(mined[2], ["tax tax"]);
  assert.equal(mined.length, 4);
});
