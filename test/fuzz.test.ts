// Property-based fuzzing (fast-check) of every parser that takes outside bytes: safetensors,
// config.json, tokenizer.json, vocab.txt, tokenizer_config.json, the JSON-lines and CSV data
// readers, the tokenizer on any text, and the server's request bodies. The property: each input
// is either read or refused with a UserError (a message for the user), never another exception,
// a hang or a 500. `npm test` runs a few hundred cases each; `npm run fuzz` many more
// (FUZZ_RUNS, default 100 here).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { UserError } from "../src/errors.js";
import { parseConfigText } from "../src/io/config-format.js";
import { SafetensorsFile } from "../src/io/safetensors-format.js";
import { InferenceServer } from "../src/server/server.js";
import { tokenizerFromFiles } from "../src/tokenizer/folder.js";
import { parseDataText } from "../src/train/data.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const MODEL = "test/fixtures/models/distilbert-seqcls";
const TOKENIZER = "test/fixtures/tokenizer/uncased";

/** Runs `read`; anything it throws must be a UserError. */
function readsOrRefuses(read: () => unknown): void {
  try {
    read();
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
  }
}

/** Bytes from `valid` with a few bytes replaced, or cut short, or both. */
function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      edits: fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), {
        maxLength: 8,
      }),
      cut: fc.option(fc.nat(valid.length), { nil: undefined }),
    })
    .map(({ edits, cut }) => {
      const bytes = valid.slice(0, cut ?? valid.length);
      for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
      return bytes;
    });
}

/** JSON text from `valid` with one value somewhere replaced by any JSON value. */
function mutatedJson(valid: unknown): fc.Arbitrary<string> {
  const paths: (string | number)[][] = [];
  const walk = (value: unknown, path: (string | number)[]) => {
    paths.push(path);
    if (paths.length > 400 || value === null || typeof value !== "object") return;
    for (const [key, child] of Object.entries(value)) {
      walk(child, [...path, Array.isArray(value) ? Number(key) : key]);
    }
  };
  walk(valid, []);
  return fc.tuple(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 2 })).map(([path, value]) => {
    if (path.length === 0) return JSON.stringify(value);
    const copy = structuredClone(valid) as Record<string | number, unknown>;
    let node = copy;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    node[path[path.length - 1]] = value;
    return JSON.stringify(copy);
  });
}

function readAll(file: SafetensorsFile): void {
  for (const name of file.names()) {
    const dtype = file.info(name).dtype;
    if (dtype === "I32" || dtype === "I64") file.int32(name);
    else if (dtype === "I8") file.int8(name);
    else file.float32(name);
  }
}

test("the property fails on any exception other than UserError", () => {
  assert.throws(() => readsOrRefuses(() => JSON.parse("{").x.y), SyntaxError);
  assert.throws(() => readsOrRefuses(() => (undefined as unknown as { x: 1 }).x), TypeError);
  readsOrRefuses(() => {
    throw new UserError("refused");
  });
});

describe("fuzz: files", () => {
  const safetensors = new Uint8Array(readFileSync(`${MODEL}/model.safetensors`));

  test("safetensors: any bytes, mutated files, any header JSON", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) =>
        readsOrRefuses(() => readAll(SafetensorsFile.fromBytes(bytes, "fuzz.safetensors"))),
      ),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(mutated(safetensors.subarray(0, 4096)), (bytes) =>
        readsOrRefuses(() => readAll(SafetensorsFile.fromBytes(bytes, "fuzz.safetensors"))),
      ),
      { numRuns: RUNS },
    );
    const headerLength = Number(new DataView(safetensors.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(safetensors.subarray(8, 8 + headerLength)));
    const data = safetensors.subarray(8 + headerLength);
    fc.assert(
      fc.property(mutatedJson(header), (text) => {
        const json = new TextEncoder().encode(text);
        const bytes = new Uint8Array(8 + json.length + data.length);
        new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
        bytes.set(json, 8);
        bytes.set(data, 8 + json.length);
        readsOrRefuses(() => readAll(SafetensorsFile.fromBytes(bytes, "fuzz.safetensors")));
      }),
      { numRuns: RUNS },
    );
  });

  test("config.json: any text, any value in any field", () => {
    const valid = JSON.parse(readFileSync(`${MODEL}/config.json`, "utf8"));
    fc.assert(
      fc.property(fc.oneof(fc.string(), mutatedJson(valid)), (text) =>
        readsOrRefuses(() => parseConfigText(text, "fuzz/config.json")),
      ),
      { numRuns: RUNS },
    );
  });

  test("tokenizer.json, tokenizer_config.json and vocab.txt: any value in any field", () => {
    const json = JSON.parse(readFileSync(`${TOKENIZER}/tokenizer.json`, "utf8"));
    const config = JSON.parse(readFileSync(`${TOKENIZER}/tokenizer_config.json`, "utf8"));
    const encodeSome = (files: Parameters<typeof tokenizerFromFiles>[0]) =>
      readsOrRefuses(() => tokenizerFromFiles(files, "fuzz").encode("Hello, world! [MASK] é"));
    // tokenizer.json is 700 KB; mutating its small parts is where parsers go wrong.
    const { vocab, ...model } = json.model;
    const small = { ...json, model };
    fc.assert(
      fc.property(mutatedJson(small), (text) => {
        const mutant = JSON.parse(text);
        if (mutant?.model && typeof mutant.model === "object") mutant.model.vocab = vocab;
        encodeSome({ "tokenizer.json": JSON.stringify(mutant) });
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(mutatedJson(config), (text) =>
        encodeSome({ "tokenizer.json": JSON.stringify(json), "tokenizer_config.json": text }),
      ),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.constantFrom("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"), fc.string()),
          {
            maxLength: 40,
          },
        ),
        (lines) => encodeSome({ "vocab.txt": lines.join("\n") }),
      ),
      { numRuns: RUNS },
    );
  });

  test("the tokenizer on any text: offsets inside the text, ids inside the vocabulary", () => {
    const tokenizer = tokenizerFromFiles(
      { "tokenizer.json": readFileSync(`${TOKENIZER}/tokenizer.json`, "utf8") },
      TOKENIZER,
    );
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), (text) => {
        const encoding = tokenizer.encode(text, null, { truncation: true, maxLength: 64 });
        assert.ok(encoding.ids.length <= 64);
        for (const [start, end] of encoding.offsets) {
          assert.ok(0 <= start && start <= end && end <= text.length, `${start}-${end}`);
        }
        for (const id of encoding.ids) assert.ok(Number.isInteger(id) && id >= 0);
      }),
      { numRuns: RUNS },
    );
  });

  test("data files: any JSON lines or CSV text", () => {
    const line = fc.oneof(
      fc.string(),
      fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
      fc
        .record({ text: fc.oneof(fc.string(), fc.jsonValue()), label: fc.jsonValue() })
        .map((row) => JSON.stringify(row)),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 6 }), (lines) =>
        readsOrRefuses(() => parseDataText(lines.join("\n"), "fuzz.jsonl")),
      ),
      { numRuns: RUNS },
    );
    const cell = fc.oneof(
      fc.string(),
      fc.constantFrom('"', '""', ",", "\n", "\r\n", "text", "label"),
    );
    fc.assert(
      fc.property(fc.array(cell, { maxLength: 24 }), (cells) =>
        readsOrRefuses(() => parseDataText(`text,label\n${cells.join("")}`, "fuzz.csv")),
      ),
      { numRuns: RUNS },
    );
  });
});

describe("fuzz: the server's request bodies", () => {
  let server: InferenceServer;
  let url: string;

  before(async () => {
    server = await InferenceServer.start({
      models: [{ tasks: ["fill-mask", "feature-extraction"] }],
      log: () => {},
    });
    url = `http://${await server.listen(0, "127.0.0.1")}`;
  });
  after(() => server.close());

  test("any body on any route is answered below 500", async () => {
    const routes = [
      "/fill-mask",
      "/feature-extraction",
      "/embed",
      "/v1/embeddings",
      "/tokenize",
      "/decode",
    ];
    const field = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.string(),
      fc.array(fc.string(), { maxLength: 3 }),
    );
    const body = fc.oneof(
      fc.string(),
      fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
      fc
        .record(
          {
            inputs: field,
            input: field,
            ids: field,
            parameters: fc.oneof(
              fc.jsonValue({ maxDepth: 2 }),
              fc.record({ top_k: field, truncation: field }),
            ),
            normalize: field,
            truncate: field,
            encoding_format: field,
          },
          { requiredKeys: [] },
        )
        .map((value) => JSON.stringify(value)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), body, async (route, text) => {
        const response = await fetch(`${url}${route}`, { method: "POST", body: text });
        await response.arrayBuffer();
        assert.ok(response.status < 500, `${route} ${text.slice(0, 200)}: ${response.status}`);
      }),
      { numRuns: RUNS },
    );
  });
});
