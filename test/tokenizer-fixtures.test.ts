// Every Hugging Face fixture case, with the tokenizer loaded from tokenizer.json and from the
// legacy vocab.txt + tokenizer_config.json: ids, types, offsets, tokens, decoding, truncation
// errors, question-answering windows and padded batches.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { type Encoding, Tokenizer } from "../src/tokenizer/index.js";

const root = "test/fixtures/tokenizer";
const variants = ["uncased", "cased", "uncased-keep-accents"];

type Offsets = [number, number][];

interface Fixture {
  cases: {
    text: string;
    input_ids: number[];
    token_type_ids: number[];
    offsets: Offsets;
    tokens: string[];
    decoded: string;
  }[];
  pairs: {
    a: string;
    b: string;
    truncation: "longest_first" | "only_first" | "only_second";
    max_length: number;
    input_ids?: number[];
    token_type_ids?: number[];
    offsets?: Offsets;
    error?: string;
  }[];
  qa_windows: {
    question: string;
    context: string;
    max_length: number;
    stride: number;
    input_ids: number[][];
    token_type_ids: number[][];
    attention_mask: number[][];
    offsets: Offsets[];
    sequence_ids: (number | null)[][];
  }[];
  batch_padding_longest: Batch;
  batch_padding_max_length: Batch;
}

interface Batch {
  texts: string[];
  max_length: number;
  input_ids: number[][];
  token_type_ids: number[][];
  attention_mask: number[][];
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** Python counts code points; JavaScript strings count UTF-16 units. */
function toUtf16(text: string, offsets: Offsets): Offsets {
  const unitIndex: number[] = [0];
  for (const char of text) unitIndex.push(unitIndex[unitIndex.length - 1] + char.length);
  return offsets.map(([start, end]) => [unitIndex[start], unitIndex[end]]);
}

/** The offsets of a pair: the first text's tokens index `a`, the second's index `b`. */
function pairOffsetsToUtf16(
  a: string,
  b: string,
  offsets: Offsets,
  sequenceIds: (number | null)[],
): Offsets {
  return offsets.map((offset, i) => toUtf16(sequenceIds[i] === 1 ? b : a, [offset])[0]);
}

function vocabText(tokenizerJson: { model: { vocab: Record<string, number> } }): string {
  const tokens: string[] = [];
  for (const [token, id] of Object.entries(tokenizerJson.model.vocab)) tokens[id] = token;
  return `${tokens.join("\n")}\n`;
}

function loaders(variant: string): [string, () => Tokenizer][] {
  const json = readJson(`${root}/${variant}/tokenizer.json`) as {
    model: { vocab: Record<string, number> };
  };
  const config = readJson(`${root}/${variant}/tokenizer_config.json`);
  const vocab =
    variant === "cased"
      ? vocabText(json)
      : readFileSync("data/vocab-bert-base-uncased.txt", "utf8");
  return [
    ["tokenizer.json", () => Tokenizer.fromJSON(json, config)],
    ["vocab.txt", () => Tokenizer.fromVocab(vocab, config)],
  ];
}

function windowsOf(encoding: Encoding): Encoding[] {
  return [encoding, ...encoding.overflowing];
}

for (const variant of variants) {
  const fixture = readJson(`${root}/${variant}.cases.json`) as Fixture;
  for (const [source, load] of loaders(variant)) {
    const tokenizer = load();

    test(`${variant} from ${source}: every single text`, (t) => {
      let matched = 0;
      for (const [i, c] of fixture.cases.entries()) {
        const encoding = tokenizer.encode(c.text);
        const where = `case ${i} ${JSON.stringify(c.text.slice(0, 60))}`;
        assert.deepEqual(encoding.ids, c.input_ids, `${where}: ids`);
        assert.deepEqual(encoding.tokenTypeIds, c.token_type_ids, `${where}: token types`);
        assert.deepEqual(encoding.tokens, c.tokens, `${where}: tokens`);
        assert.deepEqual(encoding.offsets, toUtf16(c.text, c.offsets), `${where}: offsets`);
        assert.equal(
          tokenizer.decode(encoding.ids, { skipSpecialTokens: true }),
          c.decoded,
          `${where}: decoded`,
        );
        matched++;
      }
      t.diagnostic(`${matched}/${fixture.cases.length} texts equal`);
    });

    test(`${variant} from ${source}: every pair under each truncation`, (t) => {
      let matched = 0;
      for (const [i, p] of fixture.pairs.entries()) {
        const where = `pair ${i} (${p.truncation})`;
        const encode = () =>
          tokenizer.encode(p.a, p.b, { maxLength: p.max_length, truncation: p.truncation });
        if (p.error !== undefined) {
          assert.throws(encode, { message: p.error }, where);
        } else {
          const encoding = encode();
          assert.deepEqual(encoding.ids, p.input_ids, `${where}: ids`);
          assert.deepEqual(encoding.tokenTypeIds, p.token_type_ids, `${where}: token types`);
          const expected = pairOffsetsToUtf16(p.a, p.b, p.offsets as Offsets, encoding.sequenceIds);
          assert.deepEqual(encoding.offsets, expected, `${where}: offsets`);
        }
        matched++;
      }
      t.diagnostic(`${matched}/${fixture.pairs.length} pairs equal`);
    });

    test(`${variant} from ${source}: question/context windows`, (t) => {
      let matched = 0;
      for (const [i, q] of fixture.qa_windows.entries()) {
        const encoding = tokenizer.encode(q.question, q.context, {
          maxLength: q.max_length,
          truncation: "only_second",
          stride: q.stride,
          returnOverflowing: true,
          padding: "max_length",
        });
        const windows = windowsOf(encoding);
        const where = `qa ${i}`;
        assert.equal(windows.length, q.input_ids.length, `${where}: window count`);
        for (const [w, window] of windows.entries()) {
          assert.deepEqual(window.ids, q.input_ids[w], `${where} window ${w}: ids`);
          assert.deepEqual(window.tokenTypeIds, q.token_type_ids[w], `${where} window ${w}: types`);
          assert.deepEqual(window.attentionMask, q.attention_mask[w], `${where} window ${w}: mask`);
          assert.deepEqual(
            window.sequenceIds,
            q.sequence_ids[w],
            `${where} window ${w}: sequence ids`,
          );
          const expected = pairOffsetsToUtf16(
            q.question,
            q.context,
            q.offsets[w],
            q.sequence_ids[w],
          );
          assert.deepEqual(window.offsets, expected, `${where} window ${w}: offsets`);
        }
        matched++;
      }
      t.diagnostic(`${matched}/${fixture.qa_windows.length} question/context encodings equal`);
    });

    test(`${variant} from ${source}: padded batches`, () => {
      for (const [name, padding] of [
        ["batch_padding_longest", "longest"],
        ["batch_padding_max_length", "max_length"],
      ] as const) {
        const batch = fixture[name];
        const encodings = tokenizer.encodeBatch(batch.texts, {
          maxLength: batch.max_length,
          truncation: true,
          padding,
        });
        assert.deepEqual(
          encodings.map((e) => e.ids),
          batch.input_ids,
          `${name}: ids`,
        );
        assert.deepEqual(
          encodings.map((e) => e.tokenTypeIds),
          batch.token_type_ids,
          `${name}: types`,
        );
        assert.deepEqual(
          encodings.map((e) => e.attentionMask),
          batch.attention_mask,
          `${name}: mask`,
        );
      }
    });
  }
}
