// `distilbert predict` and `distilbert demo` as a user runs them.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseInput } from "../src/cli/predict-function.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const TC = "test/fixtures/pipelines/models/text-classification-random";

function cli(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [MAIN, ...args], { input, encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("an argument that is not JSON is one plain string", () => {
  assert.equal(parseInput("The [MASK] of it."), "The [MASK] of it.");
  assert.equal(parseInput('"quoted"'), "quoted");
  assert.equal(parseInput("42"), "42");
  assert.deepEqual(parseInput('["a", "b"]'), ["a", "b"]);
  assert.deepEqual(parseInput('{"question": "q", "context": "c"}'), {
    question: "q",
    context: "c",
  });
});

test("fill-mask on the embedded teacher by default, options as JSON", () => {
  const { code, stdout, stderr } = cli([
    "predict",
    "fill-mask",
    "The [MASK] of the United States shall be vested in a President.",
    "--options",
    '{"top_k": 3}',
  ]);
  assert.equal(code, 0, stderr);
  const output = JSON.parse(stdout) as { token_str: string; score: number }[];
  assert.deepEqual(
    output.map((p) => p.token_str),
    ["president", "people", "states"],
  );
  assert.ok(Math.abs(output[0].score - 0.22101528942584991) < 1e-4);
});

test("without INPUT: one input a line from stdin (JSON or plain text), one JSON line out", () => {
  const lines = ['{"text": "a film", "text_pair": "a book"}', "plain text, not JSON", ""].join(
    "\n",
  );
  const { code, stdout, stderr } = cli(["predict", "text-classification", "--model", TC], lines);
  assert.equal(code, 0, stderr);
  const outputs = stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  assert.equal(outputs.length, 2);
  assert.ok("label" in outputs[0]);
  assert.ok(Array.isArray(outputs[1]) && "label" in outputs[1][0]);
});

test("stdin: a bad, blank or non-UTF-8 line gets its own error line, the run goes on, exit 1", () => {
  const input = Buffer.concat([
    Buffer.from("a [MASK] film\r\nno mask here\n\n"),
    Buffer.from([0x61, 0xff, 0x5b, 0x0a]),
    Buffer.from("the [MASK] book"),
  ]);
  const fillMask = "test/fixtures/pipelines/models/fill-mask-random";
  const result = spawnSync(process.execPath, [MAIN, "predict", "fill-mask", "--model", fillMask], {
    input,
    encoding: "utf8",
  });
  assert.equal(result.status, 1, result.stderr);
  const outputs = result.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  assert.equal(outputs.length, 5, "one output line per input line");
  assert.ok(Array.isArray(outputs[0]) && Array.isArray(outputs[4]));
  assert.equal(outputs[1].line, 2);
  assert.match(outputs[1].error, /\[MASK\]/);
  assert.deepEqual(outputs[2], { error: "line 3 is blank: give an input", line: 3 });
  assert.deepEqual(outputs[3], {
    error: "line 4 is not valid UTF-8: convert the input to UTF-8",
    line: 4,
  });
});

test("fill-mask takes truncation and max_length; a [MASK] cut off is a clear error", () => {
  const options = ["--options", '{"truncation": true, "max_length": 512}'];
  const kept = cli(["predict", "fill-mask", ...options, `the [MASK] end ${"word ".repeat(2000)}`]);
  assert.equal(kept.code, 0, kept.stderr);
  assert.equal((JSON.parse(kept.stdout) as unknown[]).length, 5);
  const cut = cli(["predict", "fill-mask", ...options, `${"word ".repeat(2000)} the [MASK] end`]);
  assert.equal(cut.code, 1);
  assert.match(cut.stderr, /every \[MASK\] of the text lies past the 512 tokens truncation keeps/);
});

test("a fill-mask target outside the vocabulary is scored as its first token, with a warning", () => {
  const options = ["--options", '{"targets": ["ishmael", "president"]}'];
  const { code, stdout, stderr } = cli(["predict", "fill-mask", ...options, "The [MASK] sailed."]);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /target "ishmael" is not in the vocabulary; scoring its first token "is"/);
  assert.equal((JSON.parse(stdout) as unknown[]).length, 2);
});

test("user errors are one line on stderr and exit code 1", () => {
  for (const args of [
    [
      "predict",
      "fill-mask",
      "--model",
      "test/fixtures/pipelines/models/fill-mask-random",
      "no mask",
    ],
    ["predict", "translation", "x"],
    ["predict", "ner", "x"],
    ["predict", "fill-mask", "--model", TC, "a [MASK]"],
    ["predict", "fill-mask", "--options", "{top_k: 3}", "a [MASK]"],
  ]) {
    const { code, stdout, stderr } = cli(args);
    assert.equal(code, 1, args.join(" "));
    assert.equal(stdout, "");
    assert.match(stderr, /^distilbert: [^\n]+\n$/);
  }
});

test("semantic-search: build the index from a corpus file, then query it", () => {
  const dir = mkdtempSync(join(tmpdir(), "predict-test-"));
  try {
    const corpus = join(dir, "docs.txt");
    const index = join(dir, "docs.index");
    writeFileSync(
      corpus,
      "The whale swam beneath the ship.\nWe must balance the federal budget.\n",
    );
    const model = ["--model", "test/fixtures/pipelines/models/feature-extraction-random"];
    const built = cli([
      "predict",
      "semantic-search",
      ...model,
      "--options",
      JSON.stringify({ corpus, index }),
      "x",
    ]);
    assert.equal(built.code, 0, built.stderr);
    const query = "We must balance the federal budget.";
    const found = cli([
      "predict",
      "semantic-search",
      "--options",
      JSON.stringify({ index, top_k: 1 }),
      query,
    ]);
    assert.equal(found.code, 0, found.stderr);
    assert.deepEqual(
      (JSON.parse(found.stdout) as { index: number; text: string }[]).map((hit) => [
        hit.index,
        hit.text,
      ]),
      [[1, query]],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("demo: the teacher's top words for each sentence", () => {
  const { code, stdout, stderr } = cli(["demo"]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /president\s+0\.22/);
  assert.match(stdout, /provision\s+0\.12/);
});
