// The fuzz targets: a fast-check property for every parser and entry point that takes outside
// bytes (safetensors, config.json, tokenizer.json, tokenizer_config.json, vocab.txt, the JSON-lines
// and CSV data readers, the tokenizer on any text, pipeline inputs and options, the reranker's
// query and texts, the server's request bodies, nested deep or not). The property: each input is read or refused with a UserError, never another exception
// or a 500, within INPUT_MS. Run briefly by fuzz.test.ts (npm test) and for a time budget by
// fuzz-run.ts (npm run fuzz), which also bounds memory and catches inputs that never finish.

import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import fc from "fast-check";
import { UserError } from "../src/errors.js";
import { parseConfigText } from "../src/io/config-format.js";
import { MAX_JSON_DEPTH } from "../src/io/json-depth.js";
import { SafetensorsFile } from "../src/io/safetensors-format.js";
import { EMBEDDED_MODEL_DIR, type Pipeline, pipeline } from "../src/pipelines/index.js";
import { InferenceServer } from "../src/server/server.js";
import { tokenizerFromFiles } from "../src/tokenizer/folder.js";
import { parseDataText } from "../src/train/data-format.js";
import { makeCrossEncoder } from "./cross-encoder-fixture.js";

const MODEL = "test/fixtures/models/distilbert-seqcls";
const TOKENIZER = "test/fixtures/tokenizer/uncased";

/** Runs `read`; anything it throws must be a UserError. */
export function readsOrRefuses(read: () => unknown): void {
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

export interface FuzzTarget {
  name: string;
  property: fc.IRawProperty<unknown[]>;
}

/** One input taking longer than this is a crash: a parser that slow on small inputs can hang. */
export const INPUT_MS = 2000;

/** Throws if the input that started at `start` ran past INPUT_MS; counts it in `inputsDone`. */
function finished(start: number, inputsDone: Int32Array | undefined): void {
  const ms = performance.now() - start;
  if (ms > INPUT_MS) throw new Error(`one input took ${ms.toFixed(0)} ms, past ${INPUT_MS} ms`);
  if (inputsDone) Atomics.add(inputsDone, 0, 1);
}

type Arbitraries<T extends unknown[]> = { [K in keyof T]: fc.Arbitrary<T[K]> };

/**
 * Every target, with what they need started (the server); `close` stops it. `inputsDone[0]`
 * counts finished inputs, for a watchdog on another thread.
 */
export async function fuzzTargets(inputsDone?: Int32Array): Promise<{
  targets: FuzzTarget[];
  close: () => Promise<void>;
}> {
  const targets: FuzzTarget[] = [];
  const push = (name: string, property: unknown) =>
    targets.push({ name, property: property as fc.IRawProperty<unknown[]> });
  const add = <T extends unknown[]>(
    name: string,
    arbitraries: Arbitraries<T>,
    predicate: (...args: T) => void,
  ) =>
    push(
      name,
      fc.property(...(arbitraries as [fc.Arbitrary<unknown>]), (...args: unknown[]) => {
        const start = performance.now();
        predicate(...(args as T));
        finished(start, inputsDone);
      }),
    );
  const addAsync = <T extends unknown[]>(
    name: string,
    arbitraries: Arbitraries<T>,
    predicate: (...args: T) => Promise<void>,
  ) =>
    push(
      name,
      fc.asyncProperty(...(arbitraries as [fc.Arbitrary<unknown>]), async (...args: unknown[]) => {
        const start = performance.now();
        await predicate(...(args as T));
        finished(start, inputsDone);
      }),
    );

  const safetensors = new Uint8Array(readFileSync(`${MODEL}/model.safetensors`));
  const readBytes = (bytes: Uint8Array) =>
    readsOrRefuses(() => readAll(SafetensorsFile.fromBytes(bytes, "fuzz.safetensors")));
  add("safetensors: any bytes", [fc.uint8Array({ maxLength: 64 })], readBytes);
  add("safetensors: mutated file", [mutated(safetensors.subarray(0, 4096))], readBytes);
  const headerLength = Number(new DataView(safetensors.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(safetensors.subarray(8, 8 + headerLength)));
  const data = safetensors.subarray(8 + headerLength);
  add("safetensors: header JSON (offsets, dtypes, shapes)", [mutatedJson(header)], (text) => {
    const json = new TextEncoder().encode(text);
    const bytes = new Uint8Array(8 + json.length + data.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    bytes.set(data, 8 + json.length);
    readBytes(bytes);
  });

  const config = JSON.parse(readFileSync(`${MODEL}/config.json`, "utf8"));
  add("config.json", [fc.oneof(fc.string(), mutatedJson(config))], (text) =>
    readsOrRefuses(() => parseConfigText(text, "fuzz/config.json")),
  );

  const tokenizerJson = JSON.parse(readFileSync(`${TOKENIZER}/tokenizer.json`, "utf8"));
  const tokenizerConfig = JSON.parse(readFileSync(`${TOKENIZER}/tokenizer_config.json`, "utf8"));
  const encodeSome = (files: Parameters<typeof tokenizerFromFiles>[0]) =>
    readsOrRefuses(() => tokenizerFromFiles(files, "fuzz").encode("Hello, world! [MASK] é"));
  // tokenizer.json is 700 KB; its small parts are where a parser goes wrong.
  const { vocab, ...tokenizerModel } = tokenizerJson.model;
  add("tokenizer.json", [mutatedJson({ ...tokenizerJson, model: tokenizerModel })], (text) => {
    const mutant = JSON.parse(text);
    if (mutant?.model && typeof mutant.model === "object") mutant.model.vocab = vocab;
    encodeSome({ "tokenizer.json": JSON.stringify(mutant) });
  });
  add("tokenizer_config.json", [mutatedJson(tokenizerConfig)], (text) =>
    encodeSome({
      "tokenizer.json": JSON.stringify(tokenizerJson),
      "tokenizer_config.json": text,
    }),
  );
  const vocabLine = fc.oneof(
    fc.constantFrom("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"),
    fc.string(),
  );
  add("vocab.txt", [fc.array(vocabLine, { maxLength: 40 })], (lines) =>
    encodeSome({ "vocab.txt": lines.join("\n") }),
  );

  const tokenizer = tokenizerFromFiles(
    { "tokenizer.json": JSON.stringify(tokenizerJson) },
    TOKENIZER,
  );
  add("the tokenizer on any text", [fc.string({ unit: "grapheme", maxLength: 200 })], (text) => {
    const encoding = tokenizer.encode(text, null, { truncation: true, maxLength: 64 });
    assert.ok(encoding.ids.length <= 64);
    for (const [start, end] of encoding.offsets) {
      assert.ok(0 <= start && start <= end && end <= text.length, `${start}-${end}`);
    }
    for (const id of encoding.ids) assert.ok(Number.isInteger(id) && id >= 0);
  });

  const jsonLine = fc.oneof(
    fc.string(),
    fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
    fc
      .record({ text: fc.oneof(fc.string(), fc.jsonValue()), label: fc.jsonValue() })
      .map((row) => JSON.stringify(row)),
  );
  add("JSON-lines data", [fc.array(jsonLine, { maxLength: 6 })], (lines) =>
    readsOrRefuses(() => parseDataText(lines.join("\n"), "fuzz.jsonl")),
  );
  const cell = fc.oneof(
    fc.string(),
    fc.constantFrom('"', '""', ",", "\n", "\r\n", "text", "label"),
  );
  add("CSV data", [fc.array(cell, { maxLength: 24 })], (cells) =>
    readsOrRefuses(() => parseDataText(`text,label\n${cells.join("")}`, "fuzz.csv")),
  );

  const field = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.string(),
    fc.array(fc.string(), { maxLength: 3 }),
  );
  const pipes: Pipeline[] = [
    await pipeline("fill-mask", "test/fixtures/pipelines/models/fill-mask-random"),
    await pipeline(
      "text-classification",
      "test/fixtures/pipelines/models/text-classification-random",
    ),
    await pipeline(
      "question-answering",
      "test/fixtures/pipelines/models/question-answering-random",
    ),
    await pipeline("sparse-embedding", "test/fixtures/pipelines/models/fill-mask-random"),
  ];
  const options = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.record(
      { top_k: field, truncation: field, max_length: field, targets: field, batch_size: field },
      { requiredKeys: [] },
    ),
  );
  addAsync(
    "pipeline inputs and options",
    [fc.constantFrom(...pipes), field, options],
    async (pipe, inputs, opts) => {
      // Random targets are rarely words: keep fill-mask's vocabulary warnings off the output.
      const warn = console.warn;
      console.warn = () => {};
      try {
        await pipe.run(inputs, opts as object);
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
      } finally {
        console.warn = warn;
      }
    },
  );

  const crossEncoder = await makeCrossEncoder();
  const ranker = await pipeline("text-ranking", crossEncoder);
  const rankingOptions = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.record(
      { top_k: field, raw_scores: field, return_text: field, truncation: field, max_length: field },
      { requiredKeys: [] },
    ),
  );
  addAsync(
    "text-ranking query, texts and options",
    [field, field, rankingOptions],
    async (query, texts, opts) => {
      try {
        await ranker(query as string, texts as string[], opts as object);
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
      }
    },
  );

  const server = await InferenceServer.start({
    models: [
      // The shipped BERT, a masked-LM, also runs SPLADE (it has no default model).
      { tasks: ["fill-mask", "feature-extraction", "sparse-embedding"], model: EMBEDDED_MODEL_DIR },
      { tasks: ["text-ranking"], model: crossEncoder },
    ],
    log: () => {},
  });
  const url = `http://${await server.listen(0, "127.0.0.1")}`;
  const routes = [
    "/fill-mask",
    "/feature-extraction",
    "/embed",
    "/v1/embeddings",
    "/embed_sparse",
    "/similarity",
    "/rerank",
    "/tokenize",
    "/decode",
  ];
  const body = fc.oneof(
    fc.string(),
    fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
    fc
      .record(
        {
          inputs: fc.oneof(
            field,
            fc.record({ source_sentence: field, sentences: field }, { requiredKeys: [] }),
          ),
          input: field,
          query: field,
          texts: field,
          ids: field,
          parameters: fc.oneof(
            fc.jsonValue({ maxDepth: 2 }),
            fc.record({ top_k: field, truncation: field, truncate: field }),
          ),
          normalize: field,
          truncate: field,
          raw_scores: field,
          return_text: field,
          encoding_format: field,
          dimensions: field,
        },
        { requiredKeys: [] },
      )
      .map((value) => JSON.stringify(value)),
  );
  addAsync("HTTP request bodies", [fc.constantFrom(...routes), body], async (route, text) => {
    const response = await fetch(`${url}${route}`, { method: "POST", body: text });
    await response.arrayBuffer();
    assert.ok(response.status < 500, `${route} ${text.slice(0, 200)}: ${response.status}`);
  });
  // Arrays or objects nested up to thousands deep (a few KB) in any field: refused (422) past
  // MAX_JSON_DEPTH, never a stack overflow's 500.
  const deepBody = fc.record({
    field: fc.constantFrom("inputs", "parameters", "input", "query", "texts", "ids", "normalize"),
    depth: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 6000 })),
    array: fc.boolean(),
  });
  addAsync(
    "HTTP request bodies nested deep",
    [fc.constantFrom(...routes), deepBody],
    async (route, { field, depth, array }) => {
      const [open, close] = array ? ["[", "]"] : ['{"a": ', "}"];
      const text = `{"${field}": ${open.repeat(depth)}"x"${close.repeat(depth)}}`;
      const response = await fetch(`${url}${route}`, { method: "POST", body: text });
      await response.arrayBuffer();
      const expected = 1 + depth > MAX_JSON_DEPTH ? 422 : response.status;
      assert.ok(response.status < 500, `${route} ${field} ${depth}: ${response.status}`);
      assert.equal(response.status, expected, `${route} ${field} nested ${depth} deep`);
    },
  );
  return {
    targets,
    close: async () => {
      await server.close();
      rmSync(crossEncoder, { recursive: true, force: true });
    },
  };
}
