// The tokenize and decode commands' JSON-lines contract, run as a user would.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

const model = "models/bert-mini-sotu";

function cli(
  args: string[],
  input: string,
): { status: number | null; lines: Record<string, unknown>[] } {
  const result = spawnSync(process.execPath, ["dist/src/cli/main.js", ...args], {
    input,
    encoding: "utf8",
  });
  assert.equal(result.stderr, "");
  const lines = result.stdout
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line));
  return { status: result.status, lines };
}

test("tokenize writes one line per input line, an error line for a bad one, and goes on", () => {
  const input = [
    JSON.stringify({ text: "Hello, world!" }),
    "not json",
    JSON.stringify({ text: "Is it 😀?", text_pair: "Yes." }),
    "",
  ].join("\n");
  const { status, lines } = cli(["tokenize", "--model", model], `${input}\n`);
  assert.equal(status, 1, "a line failed");
  assert.equal(lines.length, 4);
  assert.equal(lines[1].line, 2);
  assert.deepEqual(lines[3], { error: "line 4 is blank: give an input", line: 4 });
  assert.deepEqual(lines[0], {
    input_ids: [101, 7592, 1010, 2088, 999, 102],
    token_type_ids: [0, 0, 0, 0, 0, 0],
    attention_mask: [1, 1, 1, 1, 1, 1],
    offsets: [
      [0, 0],
      [0, 5],
      [5, 6],
      [7, 12],
      [12, 13],
      [0, 0],
    ],
    tokens: ["[CLS]", "hello", ",", "world", "!", "[SEP]"],
  });
  assert.ok(typeof lines[1].error === "string");
  // UTF-16 offsets: the emoji is two units, so "?" starts at 8.
  assert.deepEqual((lines[2].offsets as number[][])[4], [8, 9]);
  assert.deepEqual(lines[2].token_type_ids, [0, 0, 0, 0, 0, 0, 1, 1, 1]);
});

test("tokenize pads to the longest line, truncates with --max-length and reports strategy errors", () => {
  const input = [
    JSON.stringify({ text: "short" }),
    JSON.stringify({ text: "a somewhat longer line of text" }),
  ].join("\n");
  const padded = cli(["tokenize", "--model", model, "--padding", "longest"], input).lines;
  assert.equal((padded[0].input_ids as number[]).length, (padded[1].input_ids as number[]).length);
  assert.equal((padded[0].attention_mask as number[]).at(-1), 0);
  const cut = cli(["tokenize", "--model", model, "--max-length", "4"], input).lines;
  assert.deepEqual(cut[1].tokens, ["[CLS]", "a", "somewhat", "[SEP]"]);
  const failed = cli(
    ["tokenize", "--model", model, "--max-length", "4", "--truncation", "only_second"],
    input,
  ).lines;
  assert.ok(!("error" in failed[0]), "short enough: nothing to cut, no error (as Hugging Face)");
  assert.deepEqual(failed[1], { error: "Truncation error: Second sequence not provided", line: 2 });
});

test("tokenize --return-overflowing writes the windows with their sequence ids", () => {
  const input = JSON.stringify({
    text: "who?",
    text_pair: "one two three four five six seven eight nine ten",
  });
  const args = [
    "tokenize",
    "--model",
    model,
    "--max-length",
    "10",
    "--truncation",
    "only_second",
    "--stride",
    "2",
  ];
  const { lines } = cli([...args, "--return-overflowing"], input);
  const windows = lines[0].windows as Record<string, unknown>[];
  assert.ok(windows.length > 1);
  assert.deepEqual(Object.keys(windows[0]), [
    "input_ids",
    "token_type_ids",
    "attention_mask",
    "offsets",
    "sequence_ids",
  ]);
  assert.deepEqual((windows[0].sequence_ids as unknown[]).slice(0, 4), [null, 0, 0, null]);
});

test("decode turns ids back into text, skipping or keeping special tokens", () => {
  const input = [
    JSON.stringify({ input_ids: [101, 7592, 1010, 2088, 999, 102] }),
    JSON.stringify({ input_ids: "x" }),
  ].join("\n");
  const { status, lines } = cli(["decode", "--model", model], input);
  assert.equal(status, 1, "a line failed");
  assert.deepEqual(lines[0], { text: "hello, world!" });
  assert.ok(typeof lines[1].error === "string");
  assert.equal(lines[1].line, 2);
  const kept = cli(["decode", "--model", model, "--keep-special-tokens"], input).lines;
  assert.deepEqual(kept[0], { text: "[CLS] hello, world! [SEP]" });
});
