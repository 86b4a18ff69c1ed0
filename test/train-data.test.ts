import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { UserError } from "../src/errors.js";
import { loadTokenizer } from "../src/tokenizer/index.js";
import { collate } from "../src/train/batching.js";
import { readDataFile } from "../src/train/data.js";
import { encodeDataset, trainingLabelSet } from "../src/train/features.js";
import type { Fields, TaskKind } from "../src/train/tasks.js";
import { TEACHER, temporaryDir } from "./train-helpers.js";

const dir = temporaryDir("train-data-errors");
const tokenizer = loadTokenizer(TEACHER);
const classification: Fields = { text: "text", pair: null, label: "label" };

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function fails(action: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${error}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

function encode(path: string, task: TaskKind, fields: Fields, labelsFrom = path) {
  const labels = trainingLabelSet(readDataFile(labelsFrom), task, fields, ["LABEL_0"], null);
  return {
    labels,
    dataset: encodeDataset(readDataFile(path), tokenizer, { task, fields, maxLength: 64, labels }),
  };
}

test("bad training data gives a UserError naming the file and the line", () => {
  fails(() => readDataFile(file("empty.jsonl", "\n\n")), /empty\.jsonl has no examples/);
  fails(() => readDataFile(join(dir, "absent.jsonl")), /cannot read .*absent\.jsonl/);
  fails(
    () => readDataFile(file("broken.jsonl", '{"text": "a", "label": 0}\n{"text": "b", \n')),
    /broken\.jsonl line 2: not valid JSON/,
  );
  fails(
    () => readDataFile(file("array.jsonl", '["text", 1]\n')),
    /array\.jsonl line 1: each line must be a JSON object/,
  );
  const missing = file("missing.jsonl", '{"text": "a", "label": 0}\n\n{"txt": "b", "label": 1}\n');
  fails(
    () => encode(missing, "text-classification", classification),
    /missing\.jsonl line 3/,
    /no field 'text'/,
  );
  const train = file(
    "train.jsonl",
    '{"text": "a", "label": "yes"}\n{"text": "b", "label": "no"}\n',
  );
  const unknown = file(
    "unknown.jsonl",
    '{"text": "a", "label": "yes"}\n{"text": "c", "label": "maybe"}\n',
  );
  fails(
    () => encode(unknown, "text-classification", classification, train),
    /unknown\.jsonl line 2/,
    /label "maybe" in 'label' is not in the label set \(0=no, 1=yes\)/,
  );
  const notNumber = file("regression.jsonl", '{"text": "a", "label": "high"}\n');
  fails(
    () => encode(notNumber, "regression", classification),
    /regression\.jsonl line 1/,
    /must be a number/,
  );
  const csv = file("bad.csv", 'text,label\n"a, quoted",1\nb,1,extra\n');
  fails(() => readDataFile(csv), /bad\.csv line 3: 3 fields but the header has 2/);
  fails(() => readDataFile(file("open.csv", 'text,label\n"never closed,1\n')), /open\.csv line 2/);
});

test("labels: integer ids, names sorted, or CSV digits", () => {
  const ints = file("ints.jsonl", '{"text": "a b", "label": 1}\n{"text": "c", "label": 0}\n');
  const { labels, dataset } = encode(ints, "text-classification", classification);
  assert.deepEqual(labels?.names, ["LABEL_0", "LABEL_1"]);
  assert.deepEqual(
    dataset.features.map((f) => f.label),
    [1, 0],
  );
  const csv = file("quoted.csv", 'text,label\r\n"say ""hi""\nthere",spam\r\nplain,ham\r\n');
  const rows = readDataFile(csv).rows;
  assert.deepEqual(rows[0], { line: 2, fields: { text: 'say "hi"\nthere', label: "spam" } });
  assert.equal(rows[1].line, 4);
  const named = encode(csv, "text-classification", classification);
  assert.deepEqual(named.labels?.names, ["ham", "spam"]);
  const pairs = file("pairs.jsonl", '{"a": "one", "b": "two", "label": 0}\n');
  const pair = encode(pairs, "text-classification", { text: "a", pair: "b", label: "label" });
  const ids = pair.dataset.features[0].sequences[0];
  assert.deepEqual(ids.typeIds, [0, 0, 0, 1, 1]);
});

test("token classification labels the first sub-token of each word, -100 elsewhere", () => {
  const path = file(
    "ner.jsonl",
    `${JSON.stringify({ tokens: ["Johanson", "lives", "in", "Paris"], ner_tags: ["B-PER", "O", "O", "B-LOC"] })}\n`,
  );
  const fields = { text: "tokens", pair: null, label: "ner_tags" };
  const { labels, dataset } = encode(path, "token-classification", fields);
  assert.deepEqual(labels?.names, ["B-LOC", "B-PER", "O"]);
  const feature = dataset.features[0];
  const tokens = feature.sequences[0].ids.map((id) => tokenizer.idToToken(id));
  const labelled = (feature.tokenLabels ?? []).map((label, t) =>
    label < 0 ? null : `${tokens[t]}=${labels?.names[label]}`,
  );
  assert.equal(labelled[0], null, "[CLS]");
  assert.equal(labelled[labelled.length - 1], null, "[SEP]");
  const kept = labelled.filter((x) => x !== null);
  assert.deepEqual(kept, [`${tokens[1]}=B-PER`, "lives=O", "in=O", "paris=B-LOC"]);
  assert.ok(tokens[2]?.startsWith("##"), "Johanson splits into sub-tokens");
  const mismatched = file(
    "ner-bad.jsonl",
    `${JSON.stringify({ tokens: ["a", "b"], ner_tags: ["O"] })}\n`,
  );
  fails(
    () => encode(mismatched, "token-classification", fields),
    /ner-bad\.jsonl line 1/,
    /1 labels for 2 words/,
  );
});

test("question answering marks the answer's tokens, or [CLS] in windows without it", () => {
  const context = `${"Filler words come first here. ".repeat(12)}The capital of France is Paris, a big city.`;
  const answer = "Paris";
  const path = file(
    "qa.jsonl",
    `${JSON.stringify({ question: "What is the capital of France?", context, answers: { text: [answer], answer_start: [context.indexOf(answer)] } })}\n`,
  );
  const fields = { text: "question", pair: "context", label: "answers" };
  const { dataset } = encode(path, "question-answering", fields);
  assert.ok(dataset.features.length > 1, "the context needs several windows");
  const withAnswer = dataset.features.filter((f) => (f.startPosition ?? 0) > 0);
  assert.ok(withAnswer.length >= 1);
  for (const feature of withAnswer) {
    const ids = feature.sequences[0].ids.slice(
      feature.startPosition,
      (feature.endPosition ?? 0) + 1,
    );
    assert.equal(tokenizer.decode(ids), "paris");
  }
  for (const feature of dataset.features.filter((f) => f.startPosition === 0)) {
    assert.equal(feature.endPosition, 0);
  }
  const wrong = file(
    "qa-bad.jsonl",
    `${JSON.stringify({ question: "q", context: "abc", answers: { text: ["zz"], answer_start: [0] } })}\n`,
  );
  fails(
    () => encode(wrong, "question-answering", fields),
    /qa-bad\.jsonl line 1/,
    /not at answer_start/,
  );
});

test("multiple choice and collation pad every choice to the batch's longest", () => {
  const path = file(
    "swag.jsonl",
    `${JSON.stringify({ question: "The man", choices: ["runs", "eats a very big apple"], label: 1 })}\n${JSON.stringify({ question: "A dog", choices: ["barks", "sleeps"], label: 0 })}\n`,
  );
  const fields = { text: "question", pair: "choices", label: "label" };
  const { dataset } = encode(path, "multiple-choice", fields);
  const batch = collate(dataset.features, tokenizer.padTokenId);
  assert.equal(batch.inputs.choices, 2);
  assert.equal(batch.inputs.batch, 2);
  const longest = Math.max(...dataset.features.map((f) => f.length));
  assert.equal(batch.inputs.seq, longest);
  assert.equal(batch.inputs.inputIds.length, 2 * 2 * longest);
  assert.deepEqual(Array.from(batch.labels.labels ?? []), [1, 0]);
  const bad = file(
    "swag-bad.jsonl",
    `${JSON.stringify({ question: "q", choices: ["a", "b"], label: 2 })}\n`,
  );
  fails(
    () => encode(bad, "multiple-choice", fields),
    /swag-bad\.jsonl line 1/,
    /index of the right choice/,
  );
});

test("rows cut at --max-length are counted in one warning, as transformers warns", (t) => {
  const warn = t.mock.method(console, "warn", () => {});
  const long = "the quick brown fox jumps over the lazy dog ".repeat(4);
  const path = file(
    "long.jsonl",
    `${[long, "short", long].map((text) => JSON.stringify({ text, label: 0 })).join("\n")}\n`,
  );
  const data = readDataFile(path);
  const labels = trainingLabelSet(data, "text-classification", classification, [], null);
  const settings = { task: "text-classification" as const, fields: classification, labels };
  encodeDataset(data, tokenizer, { ...settings, maxLength: 16 });
  assert.equal(warn.mock.callCount(), 1);
  assert.match(
    String(warn.mock.calls[0].arguments[0]),
    /2 of 3 rows of .*long\.jsonl are longer than --max-length 16 tokens and were truncated/,
  );
  encodeDataset(data, tokenizer, { ...settings, maxLength: 64 });
  assert.equal(warn.mock.callCount(), 1, "no warning when every row fits");
});
