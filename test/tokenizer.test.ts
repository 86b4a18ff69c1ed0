// Tokenizer behaviour beyond the fixtures: properties over random text, robustness, options,
// saving and loading.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { loadTokenizer, saveTokenizer, Tokenizer } from "../src/tokenizer/index.js";

const modelDir = "models/bert-mini-sotu";
const tokenizer = loadTokenizer(modelDir);

function checkOffsets(
  text: string,
  pair: string | null,
  encoding: ReturnType<Tokenizer["encode"]>,
): void {
  for (const [i, [start, end]] of encoding.offsets.entries()) {
    const sequence = encoding.sequenceIds[i];
    if (sequence === null) {
      assert.deepEqual([start, end], [0, 0]);
      continue;
    }
    const source = sequence === 0 ? text : (pair as string);
    assert.ok(
      0 <= start && start < end && end <= source.length,
      `offsets ${start}..${end} inside ${source.length}`,
    );
  }
}

test("random Unicode (lone surrogates included) never throws and offsets stay inside the text", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "binary", maxLength: 80 }),
      fc.string({ unit: "binary", maxLength: 40 }),
      (a, b) => {
        checkOffsets(a, null, tokenizer.encode(a));
        checkOffsets(a, b, tokenizer.encode(a, b, { maxLength: 16, truncation: "longest_first" }));
        tokenizer.decode(tokenizer.encode(a).ids);
      },
    ),
    { numRuns: 300 },
  );
});

test("offsets cover each token's characters (printable ASCII)", () => {
  fc.assert(
    fc.property(
      fc.string({
        unit: fc.integer({ min: 32, max: 126 }).map((c) => String.fromCharCode(c)),
        maxLength: 60,
      }),
      (text) => {
        const encoding = tokenizer.encode(text, null, { addSpecialTokens: false });
        for (const [i, token] of encoding.tokens.entries()) {
          const [start, end] = encoding.offsets[i];
          const source = text.slice(start, end).toLowerCase();
          if (token === "[UNK]") assert.ok(source.length > 0);
          else assert.equal(source, token.replace(/^##/, ""));
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("plain lowercase ASCII words round-trip through decode", () => {
  const word = fc.string({
    unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz"),
    minLength: 1,
    maxLength: 20,
  });
  fc.assert(
    fc.property(fc.array(word, { minLength: 1, maxLength: 12 }), (words) => {
      const text = words.join(" ");
      assert.equal(tokenizer.decode(tokenizer.encode(text).ids, { skipSpecialTokens: true }), text);
    }),
    { numRuns: 300 },
  );
});

test("control characters, lone surrogates and odd whitespace are cleaned like Hugging Face", () => {
  const text = "a\u0000b\u0007c\ud800d\udfffe\u00adf\u200bg\ufffdh\u000bi\u0085j\u3000k";
  const encoding = tokenizer.encode(text, null, { addSpecialTokens: false });
  checkOffsets(text, null, encoding);
  assert.ok(encoding.tokens.length > 0);
});

test("a megabyte without spaces finishes and becomes one unknown word", () => {
  const text = "a".repeat(1 << 20);
  assert.deepEqual(tokenizer.encode(text).tokens, ["[CLS]", "[UNK]", "[SEP]"]);
  const mixed = "ab.cd".repeat(200_000);
  const encoding = tokenizer.encode(mixed);
  assert.equal(encoding.offsets[encoding.offsets.length - 2][1], mixed.length);
});

test("words longer than max_input_chars_per_word become [UNK], shorter ones are split", () => {
  assert.deepEqual(tokenizer.encode("a".repeat(101), null, { addSpecialTokens: false }).tokens, [
    "[UNK]",
  ]);
  assert.notDeepEqual(tokenizer.encode("a".repeat(100), null, { addSpecialTokens: false }).tokens, [
    "[UNK]",
  ]);
});

test("special tokens in the raw text are matched before normalization", () => {
  const encoding = tokenizer.encode("Paris is the [MASK] of France.");
  assert.ok(encoding.ids.includes(tokenizer.maskTokenId));
  assert.equal(tokenizer.encode("[mask]", null, { addSpecialTokens: false }).tokens.length, 3);
});

test("transformers' option rules: maxLength alone truncates, stride and strategy errors", () => {
  const long = "word ".repeat(50);
  assert.equal(tokenizer.encode(long, null, { maxLength: 10 }).ids.length, 10);
  assert.equal(tokenizer.encode(long, null, { maxLength: 10, truncation: false }).ids.length, 52);
  assert.equal(tokenizer.encode(long, null, { maxLength: 10 }).truncated, true);
  assert.equal(tokenizer.encode(long, null, { maxLength: 52 }).truncated, false);
  assert.equal(tokenizer.encode("word", long, { maxLength: 51 }).truncated, true);
  assert.equal(
    tokenizer.encode("hi", null, { maxLength: 10, padding: "max_length" }).ids.length,
    10,
  );
  assert.equal(tokenizer.encode("hi", null, { padding: "max_length" }).ids.length, 3);
  assert.throws(() => tokenizer.encode(long, null, { maxLength: 10, truncation: "only_second" }), {
    message: "Truncation error: Second sequence not provided",
  });
  assert.throws(
    () => tokenizer.encode(long, null, { maxLength: 10, truncation: true, stride: 8 }),
    /stride/,
  );
  assert.equal(tokenizer.modelMaxLength, Number.POSITIVE_INFINITY);
});

test("overflowing windows overlap by the stride, and tokenizeWholeInput covers the whole text", () => {
  const context = Array.from({ length: 60 }, (_, i) => `w${i}`).join(" ");
  const options = {
    maxLength: 20,
    truncation: "only_second",
    stride: 4,
    returnOverflowing: true,
  } as const;
  const full = tokenizer.encode("question", context, { ...options, tokenizeWholeInput: true });
  const windows = [full, ...full.overflowing];
  const contextIds = tokenizer.encode(context, null, { addSpecialTokens: false }).ids;
  const last = windows[windows.length - 1];
  assert.equal(last.ids[last.ids.length - 2], contextIds[contextIds.length - 1]);
  const lastOf = (w: typeof full) => w.ids.slice(3, -1);
  assert.deepEqual(lastOf(windows[1]).slice(0, 4), lastOf(windows[0]).slice(-4));
  const early = tokenizer.encode("question", context, options);
  assert.deepEqual(early.ids, full.ids);
  assert.ok(early.overflowing.length < full.overflowing.length);
});

test("batches pad to their longest encoding", () => {
  const encodings = tokenizer.encodeBatch(
    ["short", ["a question", "a much longer context sentence"]],
    { padding: "longest" },
  );
  assert.equal(encodings[0].ids.length, encodings[1].ids.length);
  assert.equal(encodings[0].attentionMask.at(-1), 0);
  assert.equal(encodings[0].ids.at(-1), tokenizer.padTokenId);
});

test("decode joins ## pieces, cleans spaces before punctuation, skips or keeps specials", () => {
  const ids = tokenizer.encode("Unaffable, isn't it?").ids;
  assert.equal(tokenizer.decode(ids, { skipSpecialTokens: true }), "unaffable, isn ' t it?");
  assert.equal(tokenizer.decode(ids), "[CLS] unaffable, isn ' t it? [SEP]");
  assert.equal(
    tokenizer.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: true }),
    "unaffable, isn't it?",
  );
  assert.equal(tokenizer.tokenToId(tokenizer.idToToken(2088) as string), 2088);
});

test("saveTokenizer writes files that load back to the same tokenizer, in both forms", () => {
  const dir = mkdtempSync(join(tmpdir(), "tokenizer-"));
  try {
    saveTokenizer(tokenizer, dir);
    const text = "Héllo wörld, [MASK] 日本 😀 unaffable";
    const expected = tokenizer.encode(text, "pair text");
    assert.deepEqual(loadTokenizer(dir).encode(text, "pair text").ids, expected.ids);
    const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
    const fromVocab = Tokenizer.fromVocab(readFileSync(join(dir, "vocab.txt"), "utf8"), config);
    assert.deepEqual(fromVocab.encode(text, "pair text").offsets, expected.offsets);
    assert.equal(
      readFileSync(join(dir, "vocab.txt"), "utf8"),
      readFileSync(join(modelDir, "vocab.txt"), "utf8"),
    );
    assert.equal(loadTokenizer(dir).modelMaxLength, Number.POSITIVE_INFINITY);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("missing or unsupported tokenizer files give clear errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "tokenizer-"));
  try {
    assert.throws(() => loadTokenizer(dir), /no tokenizer in/);
    writeFileSync(
      join(dir, "tokenizer.json"),
      JSON.stringify({ model: { type: "BPE", vocab: {} } }),
    );
    assert.throws(() => loadTokenizer(dir), /WordPiece/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
