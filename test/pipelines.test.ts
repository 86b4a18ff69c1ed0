// Pipelines end to end: question answering over windows and multiple choice with a stand-in model
// whose logits are chosen by hand, output forms, batching, pooling, semantic search, and the
// errors users meet.

import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { UserError } from "../src/errors.js";
import { loadConfig } from "../src/io/config.js";
import type { Model, ModelInputs, ModelOutputs } from "../src/models/types.js";
import {
  type Callable,
  MultipleChoicePipeline,
  pipeline,
  QuestionAnsweringPipeline,
  SemanticSearch,
} from "../src/pipelines/index.js";
import { loadTokenizer, type Tokenizer } from "../src/tokenizer/index.js";

const MODELS = "test/fixtures/pipelines/models";
const QA_DIR = join(MODELS, "question-answering-random");
const scratch = mkdtempSync(join(tmpdir(), "pipelines-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A model whose logits come from a function of the batch; it records every batch it is given. */
function standIn(
  dir: string,
  logits: (inputs: ModelInputs) => Partial<ModelOutputs>,
): { model: Model; batches: ModelInputs[] } {
  const batches: ModelInputs[] = [];
  const model = {
    config: loadConfig(dir),
    forward(inputs: ModelInputs): ModelOutputs {
      batches.push(inputs);
      return { lastHiddenState: new Float32Array(0), ...logits(inputs) };
    },
  } as unknown as Model;
  return { model, batches };
}

/** Start and end logits of 10 on the tokens `pick` chooses, 0 elsewhere. */
function spanLogits(
  tokenizer: Tokenizer,
  pick: (token: string, position: number) => { start?: boolean; end?: boolean },
) {
  return (inputs: ModelInputs): Partial<ModelOutputs> => {
    const startLogits = new Float32Array(inputs.inputIds.length);
    const endLogits = new Float32Array(inputs.inputIds.length);
    inputs.inputIds.forEach((id, i) => {
      const chosen = pick(tokenizer.idToToken(id) ?? "", i % inputs.seq);
      if (chosen.start) startLogits[i] = 10;
      if (chosen.end) endLogits[i] = 10;
    });
    return { startLogits, endLogits };
  };
}

const qaTokenizer = loadTokenizer(QA_DIR);

function qaPipeline(pick: Parameters<typeof spanLogits>[1]) {
  const tokenizer = qaTokenizer;
  const { model, batches } = standIn(QA_DIR, spanLogits(tokenizer, pick));
  const qa = new QuestionAnsweringPipeline("question-answering", {
    dir: QA_DIR,
    config: model.config,
    tokenizer,
    model,
  }) as Callable<QuestionAnsweringPipeline>;
  return { qa, batches };
}

const filler = Array.from({ length: 60 }, (_, i) => `Sentence number ${i} tells of the sea.`).join(
  " ",
);
const context = `${filler} Ishmael 😀 sailed on the Pequod with Captain Ahab. ${filler}`;

describe("question-answering", () => {
  test("a long context is split into overlapping windows; offsets are UTF-16 and word-aligned", async () => {
    // Start and end inside "pequod" ("pe ##qu ##od"): the answer widens to the whole word.
    const { qa, batches } = qaPipeline((token) => ({
      start: token === "##qu",
      end: token === "##qu",
    }));
    const answer = await qa(
      { question: "Which ship?", context },
      { max_seq_len: 64, doc_stride: 16 },
    );
    assert.ok(!Array.isArray(answer));
    assert.equal(answer.answer, "Pequod");
    assert.equal(answer.start, context.indexOf("Pequod"));
    assert.equal(context.slice(answer.start, answer.end), "Pequod");
    const windows = batches.reduce((n, b) => n + b.batch, 0);
    assert.ok(windows > 10, `${windows} windows`);
    assert.ok(batches.every((b) => b.seq <= 64));
  });

  test("overlapping windows each give their answer; top_k merges them best first", async () => {
    const { qa } = qaPipeline((token) => ({ start: token === "captain", end: token === "##ab" }));
    const answers = await qa(
      { question: "Who?", context },
      { max_seq_len: 64, doc_stride: 32, top_k: 3 },
    );
    assert.ok(Array.isArray(answers) && answers.length === 3);
    assert.equal(answers[0].answer, "Captain Ahab");
    assert.ok(answers[0].score >= answers[1].score && answers[1].score >= answers[2].score);
  });

  test("max_answer_len bounds the answer in tokens", async () => {
    const pick = (token: string) => ({ start: token === "is", end: token === "##ab" });
    // "is ##hma ##el [UNK] sailed on the pe ##qu ##od with captain ah ##ab": 14 tokens.
    const long = await qaPipeline(pick).qa({ question: "Who?", context }, { max_answer_len: 14 });
    assert.ok(!Array.isArray(long));
    assert.equal(long.answer, "Ishmael 😀 sailed on the Pequod with Captain Ahab");
    const short = await qaPipeline(pick).qa({ question: "Who?", context }, { max_answer_len: 13 });
    assert.ok(!Array.isArray(short));
    assert.notEqual(short.answer, long.answer);
    assert.ok(short.score < long.score / 2);
  });

  test("handle_impossible_answer offers the empty answer when [CLS] wins", async () => {
    const { qa } = qaPipeline((_, position) => ({ start: position === 0, end: position === 0 }));
    const answer = await qa(
      { question: "Who?", context: "Nobody was there." },
      { handle_impossible_answer: true },
    );
    assert.deepEqual({ ...answer, score: 0 }, { score: 0, start: 0, end: 0, answer: "" });
    const forced = await qa({ question: "Who?", context: "Nobody was there." });
    assert.ok(!Array.isArray(forced) && forced.answer !== "");
  });

  test("the question is cut to max_question_len tokens", async () => {
    const { qa, batches } = qaPipeline((token) => ({
      start: token === "ah",
      end: token === "##ab",
    }));
    const question = Array.from({ length: 90 }, () => "why").join(" ");
    const answer = await qa(
      { question, context: "Ishmael met Captain Ahab." },
      { max_question_len: 20 },
    );
    assert.ok(!Array.isArray(answer) && answer.answer === "Ahab");
    // [CLS] + 20 question tokens + [SEP] + 8 context tokens + [SEP].
    assert.equal(batches[0].seq, 31);
  });

  test("bad input and options are UserErrors", async () => {
    const { qa } = qaPipeline(() => ({}));
    await assert.rejects(qa({ question: "", context: "x" }), UserError);
    await assert.rejects(qa({ question: "Who?" } as never), UserError);
    await assert.rejects(
      qa({ question: "Who?", context: "x" }, { doc_stride: 500, max_seq_len: 64 }),
      UserError,
    );
    await assert.rejects(qa({ question: "Who?", context: "x" }, { max_answer_len: 0 }), UserError);
  });

  test("the real QA model answers with a span of the context", async () => {
    const qa = await pipeline("question-answering", QA_DIR);
    const answers = await qa(
      [{ question: "Who sailed?", context: "Ishmael sailed on the Pequod." }],
      { top_k: 2 },
    );
    const [first] = answers[0] as { answer: string; start: number; end: number }[];
    assert.equal("Ishmael sailed on the Pequod.".slice(first.start, first.end), first.answer);
  });
});

describe("multiple-choice", () => {
  const dir = join(MODELS, "text-classification-random");
  test("softmax over the choices, examples batched by their number of choices", async () => {
    const tokenizer = loadTokenizer(dir);
    // The logit of a choice is its length in tokens.
    const { model, batches } = standIn(dir, (inputs) => {
      const rows = inputs.batch * (inputs.choices ?? 1);
      const logits = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        for (let t = 0; t < inputs.seq; t++)
          logits[r] += inputs.inputIds[r * inputs.seq + t] === 0 ? 0 : 1;
      }
      return { logits };
    });
    const mc = new MultipleChoicePipeline("multiple-choice", {
      dir,
      config: model.config,
      tokenizer,
      model,
    }) as Callable<MultipleChoicePipeline>;
    const results = await mc([
      { question: "The whale", choices: ["swam.", "swam far away."] },
      { question: "The ship", choices: ["sank slowly into the sea.", "sailed."] },
      { question: "Ahab", choices: ["a", "b c", "d"] },
    ]);
    assert.deepEqual(
      results.map((r) => r.answer),
      ["swam far away.", "sank slowly into the sea.", "b c"],
    );
    assert.deepEqual(
      results[0].scores.map((s) => Math.round(s * 1e6) / 1e6),
      [0.119203, 0.880797],
    );
    assert.deepEqual(
      batches.map((b) => [b.batch, b.choices]),
      [
        [2, 2],
        [1, 3],
      ],
    );
  });
});

describe("output forms and options", () => {
  const tcDir = join(MODELS, "text-classification-random");
  test("text-classification: a list of one for a single text, a bare result for a pair", async () => {
    const tc = await pipeline("sentiment-analysis", tcDir);
    const single = await tc("a fine film");
    assert.ok(Array.isArray(single) && single.length === 1 && "label" in single[0]);
    const pair = await tc({ text: "a", text_pair: "b" });
    assert.ok(!Array.isArray(pair) && "label" in pair);
    const ranked = await tc("a fine film", { top_k: null });
    assert.ok(Array.isArray(ranked) && ranked.length === 3);
  });

  test("batching pads to the longest in the batch without changing results", async () => {
    const tc = await pipeline("text-classification", tcDir);
    const texts = [
      "short",
      "a much longer text with many more words in it than the first",
      "mid length text",
    ];
    const one = await tc(texts, { top_k: null, batch_size: 1 });
    const all = await tc(texts, { top_k: null, batch_size: 8 });
    one.forEach((result, i) => {
      (result as { score: number }[]).forEach((label, j) => {
        assert.ok(Math.abs(label.score - (all[i] as { score: number }[])[j].score) < 1e-6);
      });
    });
  });

  test("feature-extraction: mean and cls pooling, normalize", async () => {
    const fe = await pipeline("feature-extraction", join(MODELS, "feature-extraction-random"));
    const tokens = (await fe("The whale swam.")) as number[][][];
    const mean = (await fe("The whale swam.", { pooling: "mean" })) as number[];
    const size = tokens[0][0].length;
    for (let i = 0; i < size; i++) {
      const expected = tokens[0].reduce((sum, token) => sum + token[i], 0) / tokens[0].length;
      assert.ok(Math.abs(mean[i] - expected) < 1e-5);
    }
    const cls = (await fe("The whale swam.", { pooling: "cls" })) as number[];
    assert.deepEqual(cls, tokens[0][0]);
    const unit = (await fe(["The whale swam."], {
      pooling: "mean",
      normalize: true,
    })) as number[][];
    assert.ok(Math.abs(Math.hypot(...unit[0]) - 1) < 1e-5);
  });

  test("zero-shot: multi_label scores each label alone", async () => {
    const zs = await pipeline("zero-shot-classification", join(MODELS, "zero-shot-random"));
    const out = await zs("The fleet sailed.", {
      candidate_labels: "sea, politics",
      multi_label: true,
    });
    assert.deepEqual([...out.labels].sort(), ["politics", "sea"]);
    assert.ok(out.scores.every((s) => s > 0 && s < 1));
    await assert.rejects(zs("x", { candidate_labels: [] }), UserError);
    await assert.rejects(
      zs("x", { candidate_labels: ["a"], hypothesis_template: "no slot" }),
      UserError,
    );
  });
});

describe("semantic search", () => {
  const corpus = [
    "The whale swam beneath the ship.",
    "Congress shall make no law respecting religion.",
    "We must balance the federal budget.",
    "Call me Ishmael.",
  ];
  test("a text finds itself first; the index opens again", async () => {
    const path = join(scratch, "corpus.lance");
    const index = await SemanticSearch.build(path, corpus, {
      model: join(MODELS, "feature-extraction-random"),
    });
    const hits = await index.search(corpus[2], { topK: 2 });
    assert.equal(hits[0].index, 2);
    assert.equal(hits[0].text, corpus[2]);
    assert.ok(Math.abs(hits[0].score - 1) < 1e-5);
    const opened = await SemanticSearch.open(path);
    assert.equal(opened.size, corpus.length);
    assert.deepEqual(await opened.search(corpus[2], { topK: 2 }), hits);
  });
});

describe("errors", () => {
  test("a model without the head the task needs", async () => {
    await assert.rejects(
      pipeline("fill-mask", join(MODELS, "text-classification-random")),
      /masked-lm head/,
    );
    await assert.rejects(
      pipeline("question-answering", join(MODELS, "fill-mask-random")),
      UserError,
    );
  });

  test("a model folder without a tokenizer", async () => {
    const dir = join(scratch, "no-tokenizer");
    rmSync(dir, { recursive: true, force: true });
    const { mkdirSync } = await import("node:fs");
    mkdirSync(dir);
    for (const file of ["config.json", "model.safetensors"])
      copyFileSync(join(MODELS, "fill-mask-random", file), join(dir, file));
    await assert.rejects(pipeline("fill-mask", dir), /no tokenizer/);
  });

  test("an input longer than the model without truncation; truncation with max_length works", async () => {
    const tc = await pipeline("text-classification", join(MODELS, "text-classification-random"));
    const long = "word ".repeat(300);
    await assert.rejects(tc(long), /max_position_embeddings/);
    const result = await tc(long, { truncation: true, max_length: 128 });
    assert.ok(Array.isArray(result));
  });

  test("fill-mask without [MASK], unknown options, bad option values", async () => {
    const fm = await pipeline("fill-mask", join(MODELS, "fill-mask-random"));
    await assert.rejects(fm("no mask here"), /no \[MASK\]/);
    await assert.rejects(fm("a [MASK]", { topk: 3 } as never), /no option 'topk'/);
    await assert.rejects(fm("a [MASK]", { top_k: 0 }), UserError);
    const twoMasks = await fm("a [MASK] and a [MASK].", { top_k: 2 });
    assert.ok(Array.isArray(twoMasks[0]) && twoMasks.length === 2);
  });

  test("no default model for tasks without one; unknown task", async () => {
    await assert.rejects(pipeline("ner"), /no default model/);
    await assert.rejects(pipeline("translation" as never), /unknown task/);
  });
});

describe("models from the Hub", () => {
  test("a model id is downloaded into the cache, then loaded from it offline", async () => {
    const { FakeHub, commitHash } = await import("./hub-server.js");
    const { readFileSync } = await import("node:fs");
    const source = join(MODELS, "fill-mask-random");
    const file = (name: string, lfs = false) => ({
      content: readFileSync(join(source, name)),
      lfs,
    });
    const main = commitHash("main");
    const hub = new FakeHub({
      "org/fill-mask-tiny": {
        commits: {
          [main]: {
            "config.json": file("config.json"),
            "model.safetensors": file("model.safetensors", true),
            "tokenizer.json": file("tokenizer.json", true),
            "tokenizer_config.json": file("tokenizer_config.json"),
          },
        },
        refs: { main },
      },
    });
    const saved = { endpoint: process.env.HF_ENDPOINT, offline: process.env.HF_HUB_OFFLINE };
    const cacheDir = join(scratch, "hub-cache");
    try {
      process.env.HF_ENDPOINT = await hub.start();
      delete process.env.HF_HUB_OFFLINE;
      const fill = await pipeline("fill-mask", "org/fill-mask-tiny", { cacheDir });
      const online = await fill("The [MASK] of the ship.", { top_k: 2 });
      await hub.stop();
      process.env.HF_HUB_OFFLINE = "1";
      const again = await pipeline("fill-mask", "org/fill-mask-tiny", { cacheDir });
      assert.deepEqual(await again("The [MASK] of the ship.", { top_k: 2 }), online);
    } finally {
      await hub.stop().catch(() => {});
      for (const [key, value] of [
        ["HF_ENDPOINT", saved.endpoint],
        ["HF_HUB_OFFLINE", saved.offline],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});
