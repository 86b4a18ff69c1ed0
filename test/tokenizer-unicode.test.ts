// Every Unicode code point, through each fixture tokenizer, against Hugging Face's Rust tokenizers
// (the @anush008/tokenizers binding): ids and offsets equal. This pins the Unicode 8.0 character
// classes Hugging Face uses, whatever Unicode version Node ships.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Tokenizer as RustTokenizer } from "@anush008/tokenizers";
import { Tokenizer } from "../src/tokenizer/index.js";

const root = "test/fixtures/tokenizer";
const CHUNK = 2048;

/**
 * Every code point of the planes that have characters (0-3 and 14; the others are unassigned or
 * private use, one class each) but the surrogates (a Rust string cannot hold them), in chunks.
 */
function chunks(separator: string): string[] {
  const out: string[] = [];
  let parts: string[] = [];
  for (let cp = 0; cp < 0xf0000; cp++) {
    if ((cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x40000 && cp < 0xe0000)) continue;
    parts.push(`a${String.fromCodePoint(cp)}`);
    if (parts.length === CHUNK) {
      out.push(parts.join(separator));
      parts = [];
    }
  }
  if (parts.length > 0) out.push(parts.join(separator));
  return out;
}

/** Rust offsets count code points; ours count UTF-16 units. */
function toUtf16(text: string, offsets: [number, number][]): [number, number][] {
  const unitIndex: number[] = [0];
  for (const char of text) unitIndex.push(unitIndex[unitIndex.length - 1] + char.length);
  return offsets.map(([start, end]) => [unitIndex[start], unitIndex[end]]);
}

// Each character next to letters (no separator) in one setting, between spaces in the others.
for (const [variant, separator] of [
  ["uncased", ""],
  ["cased", " "],
  ["uncased-keep-accents", " "],
]) {
  test(`${variant}: every code point tokenizes as Hugging Face's Rust tokenizer`, async () => {
    const jsonText = readFileSync(`${root}/${variant}/tokenizer.json`, "utf8");
    const config = JSON.parse(readFileSync(`${root}/${variant}/tokenizer_config.json`, "utf8"));
    const ours = Tokenizer.fromJSON(JSON.parse(jsonText), config);
    const rust = RustTokenizer.fromString(jsonText);
    for (const text of chunks(separator)) {
      const expected = await rust.encode(text);
      const encoding = ours.encode(text);
      const where = `chunk starting U+${(text.codePointAt(1) as number).toString(16)}`;
      assert.deepEqual(encoding.ids, expected.getIds(), `${where}: ids`);
      assert.deepEqual(
        encoding.offsets,
        toUtf16(text, expected.getOffsets() as [number, number][]),
        `${where}: offsets`,
      );
    }
  });
}
