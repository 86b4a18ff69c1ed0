// What a new user gets wrong on the command line (issue 29): each mistake is refused with one line
// that names the problem and what to do, exit non-zero, no stack trace, nothing written.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { UserError } from "../src/errors.js";
import { resolveModel } from "../src/io/hub.js";
import { decodeUtf8 } from "../src/io/utf8.js";
import { readCorpusLines, readDataFile } from "../src/train/data.js";
import { requireSeveralLabels, trainingLabelSet } from "../src/train/features.js";
import { LabelSet } from "../src/train/labels.js";
import { temporaryDir, tinyModelFolder } from "./train-helpers.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const dir = temporaryDir("robustness-cli");
const classification = { text: "text", pair: null, label: "label" };

function cli(args: string[]) {
  const result = spawnSync(process.execPath, [MAIN, ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The command failed with one line (no stack) matching every pattern. */
function refused(result: ReturnType<typeof cli>, ...patterns: RegExp[]): void {
  assert.notEqual(result.code, 0, result.stdout);
  assert.doesNotMatch(result.stderr, /internal error|\n\s+at /, result.stderr);
  for (const pattern of patterns) assert.match(result.stderr, pattern);
}

function file(name: string, contents: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, contents);
  return path;
}

function userError(action: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${error}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

test("quantize refuses a non-empty --out unless --overwrite, as train and export do", () => {
  const model = tinyModelFolder();
  const out = join(dir, "trained");
  mkdirSync(out);
  const kept = file("trained/model.safetensors", "a trained model");
  refused(
    cli(["quantize", "--model", model, "--out", out]),
    /--out .*trained is not empty: give a new folder, or pass --overwrite/,
  );
  assert.equal(readFileSync(kept, "utf8"), "a trained model");
  const overwritten = cli(["quantize", "--model", model, "--out", out, "--overwrite"]);
  assert.equal(overwritten.code, 0, overwritten.stderr);
  assert.notEqual(readFileSync(kept, "utf8"), "a trained model");
  refused(cli(["quantize", "--model", model, "--out", model]), /is also an input of this run/);
});

test("the --out message offers --resume only to the commands that have it", () => {
  const out = join(dir, "full");
  mkdirSync(out, { recursive: true });
  file("full/x", "x");
  const model = tinyModelFolder();
  for (const args of [
    ["export", "--model", model, "--format", "onnx", "--out", out],
    ["init-student", "--teacher", model, "--layers", "1", "--out", out],
  ]) {
    const result = cli(args);
    refused(result, /is not empty/);
    assert.doesNotMatch(result.stderr, /--resume/);
  }
  const train = cli(
    ["train", "--model", model, "--task", "text-classification"].concat([
      "--train",
      file("t.jsonl", "{}\n"),
      "--out",
      out,
    ]),
  );
  refused(train, /--resume/);
});

test("labels are names: 1/3/5 are three classes; ids 0..n-1 stay ids", () => {
  const stars = readDataFile(file("stars.csv", "text,stars\ngood,5\nbad,1\nso so,3\nfine,5\n"));
  const fields = { ...classification, label: "stars" };
  const labels = trainingLabelSet(stars, "text-classification", fields, ["LABEL_0"], null);
  assert.deepEqual(labels?.names, ["1", "3", "5"]);
  assert.deepEqual(
    ["1", 3, "5", 5].map((value) => labels?.id(value)),
    [0, 1, 2, 2],
  );
  assert.equal(labels?.id(2), undefined, "2 is no class here, not the id of '5'");
  const ids = readDataFile(
    file("ids.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "label": 0}\n'),
  );
  const idLabels = trainingLabelSet(ids, "text-classification", classification, ["LABEL_0"], null);
  assert.deepEqual(idLabels?.names, ["LABEL_0", "LABEL_1"]);
  const mixed = new LabelSet(["0", "1", "1.5"]);
  assert.equal(mixed.id(1.5), 2);
  const named = new LabelSet(["negative", "positive"]);
  assert.deepEqual([named.id(1), named.id("positive"), named.id(2)], [1, 1, undefined]);
});

test("an empty, null or missing label is refused with its file and line", () => {
  const empty = readDataFile(file("empty-label.csv", "text,label\na,yes\nb,\n"));
  userError(
    () => trainingLabelSet(empty, "text-classification", classification, ["LABEL_0"], null),
    /empty-label\.csv line 3: the label in 'label' is empty/,
  );
  const nullLabel = readDataFile(
    file("null-label.jsonl", '{"text": "a", "label": "yes"}\n{"text": "b", "label": null}\n'),
  );
  userError(
    () => trainingLabelSet(nullLabel, "text-classification", classification, ["LABEL_0"], null),
    /null-label\.jsonl line 2: the label in 'label' must be a label name or id, got null/,
  );
  const ner = readDataFile(file("ner-null.jsonl", '{"tokens": ["a"], "tags": [null]}\n'));
  userError(
    () =>
      trainingLabelSet(
        ner,
        "token-classification",
        { text: "tokens", pair: null, label: "tags" },
        ["LABEL_0"],
        null,
      ),
    /ner-null\.jsonl line 1/,
  );
});

test("a training file with one label only is refused for classification", () => {
  const one = readDataFile(
    file("one.jsonl", '{"text": "a", "label": "yes"}\n{"text": "b", "label": "yes"}\n'),
  );
  userError(
    () => requireSeveralLabels(one, "text-classification", classification),
    /one\.jsonl: every row has the label "yes"/,
  );
  const out = join(dir, "one-label-run");
  refused(
    cli([
      "train",
      "--model",
      tinyModelFolder(),
      "--task",
      "text-classification",
      "--train",
      one.path,
      "--out",
      out,
    ]),
    /at least two labels/,
  );
  assert.equal(existsSync(out), false);
});

test("evaluate refuses a model without the task's head, as predict does", () => {
  const data = file("eval.jsonl", '{"text": "a", "label": 0}\n{"text": "b", "label": 1}\n');
  refused(
    cli([
      "evaluate",
      "--model",
      tinyModelFolder(),
      "--task",
      "text-classification",
      "--data",
      data,
    ]),
    /text-classification needs a model with a sequence-classification head .* is a BertForMaskedLM/,
  );
});

test("a file that is not UTF-8 is refused with its line and byte, everywhere text is read", () => {
  const latin1 = Buffer.from("text,label\ncaf\xe9,yes\nthe,no\n", "latin1");
  userError(
    () => readDataFile(file("latin1.csv", latin1)),
    /latin1\.csv line 2 \(byte 14\) is not UTF-8 text: convert the file to UTF-8/,
  );
  userError(
    () => readCorpusLines(file("latin1.txt", Buffer.from("one\ntwo \xe0 three\n", "latin1"))),
    /the corpus .*latin1\.txt line 2 \(byte 8\) is not UTF-8/,
  );
  refused(
    cli([
      "train",
      "--model",
      tinyModelFolder(),
      "--task",
      "text-classification",
      "--train",
      join(dir, "latin1.csv"),
      "--out",
      join(dir, "latin1-run"),
    ]),
    /latin1\.csv line 2 \(byte 14\) is not UTF-8/,
  );
  // Well-formed text passes; overlong forms, surrogates and truncated sequences do not.
  assert.equal(decodeUtf8(Buffer.from("é ✓ 😀"), "x"), "é ✓ 😀");
  for (const [bytes, offset] of [
    [[0x61, 0xc0, 0x80], 1],
    [[0x61, 0x62, 0xed, 0xa0, 0x80], 2],
    [[0x0a, 0xf0, 0x9f, 0x98], 1],
    [[0xf4, 0x90, 0x80, 0x80], 0],
  ] as const) {
    userError(() => decodeUtf8(new Uint8Array(bytes), "x"), new RegExp(`\\(byte ${offset}\\)`));
  }
});

test("a mistyped local folder is named as such, with the close names beside it", async () => {
  await assert.rejects(resolveModel("models/bert-mini-sotu-spma"), (error: unknown) => {
    assert.ok(error instanceof UserError);
    assert.match(error.message, /no such model folder \(the folder models exists here/);
    assert.match(error.message, /did you mean models\/bert-mini-sotu-spam/);
    assert.doesNotMatch(error.message, /network|Hub at/i);
    return true;
  });
});

test("option mistakes get our message, before any work", () => {
  const model = tinyModelFolder();
  const out = join(dir, "long-run");
  const data = file("two.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n');
  const train = ["train", "--model", model, "--task", "text-classification", "--train", data];
  refused(
    cli([...train, "--out", out, "--max-length", "100000"]),
    /--max-length 100000 is more than the model reads \(max_position_embeddings 64 .*\): give at most 64/,
  );
  assert.equal(existsSync(out), false);
  refused(
    cli([...train, "--out", out, "--batch-size", "-1"]),
    /--batch-size needs a value; one that starts with '-' is written --batch-size=VALUE \(see distilbert train --help\)/,
  );
  refused(
    cli([...train, "--out", out, "--batch-size=-1"]),
    /--batch-size must be a whole number >= 1/,
  );
  refused(
    cli(["predict", "text-classification", "--model", model, "--top-k", "3", "hi"]),
    /predict has no option --top-k \(see distilbert predict --help for its options\)/,
  );
  refused(cli(["quantize", "--model"]), /--model needs a value/);
  refused(cli(["quantize", "--json=yes"]), /--json takes no value/);
});

test("predict refuses input and --options nested past the limit, without a stack", () => {
  const model = "test/fixtures/pipelines/models/text-classification-random";
  const deep = `${"[".repeat(5000)}"a"${"]".repeat(5000)}`;
  const input = cli(["predict", "text-classification", "--model", model, deep]);
  refused(input, /the input nests arrays and objects more than 32 deep/);
  const options = cli([
    "predict",
    "text-classification",
    "--model",
    model,
    "--options",
    `{"top_k": ${deep}}`,
    "a",
  ]);
  refused(options, /--options nests arrays and objects more than 32 deep/);
});

test("an output file that is an input of the command is refused", () => {
  const model = tinyModelFolder();
  const weights = join(model, "model.safetensors");
  const before = readFileSync(weights);
  refused(
    cli(["forward", "--model", model, "--inputs", weights, "--out", weights]),
    /--out .*model\.safetensors would write over .*, an input of this command/,
  );
  assert.deepEqual(readFileSync(weights), before);
  const input = file("queued.txt", "a [MASK]\n");
  refused(
    cli([
      "queue",
      "run",
      "--redis",
      "redis://127.0.0.1:1",
      "--task",
      "fill-mask",
      "--input",
      input,
      "--output",
      input,
    ]),
    /--output .*queued\.txt would write over/,
  );
});
