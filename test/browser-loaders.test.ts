// The browser entry's loaders, run in Node (they only need fetch): a model folder from files in
// memory or from a base URL, sharded weights, the vocab.txt fallback and the errors. The bundle in
// a real browser is browser.test.ts.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import {
  encodeSafetensors,
  type FileContents,
  filesAtUrl,
  filesInMemory,
  loadModelFrom,
  loadTokenizerFrom,
  pipeline,
  type TensorToWrite,
} from "../src/browser.js";
import { SafetensorsFile } from "../src/io/safetensors.js";
import { checkpointTensors, loadModel } from "../src/models/index.js";
import { loadTokenizer } from "../src/tokenizer/index.js";
import { MODEL_FIXTURES, maxAbsDiff, readBatch, TEACHER_DIR } from "./models-fixtures.js";

const FIXTURE = join(MODEL_FIXTURES, "distilbert-seqcls");

function folder(dir: string, names: string[]): Record<string, FileContents> {
  return Object.fromEntries(names.map((name) => [name, readFileSync(join(dir, name))]));
}

/** The fixture's weights split into two shards with a model.safetensors.index.json. */
function sharded(dir: string): Record<string, FileContents> {
  const weights = SafetensorsFile.open(join(dir, "model.safetensors"));
  const shards: Record<string, TensorToWrite>[] = [{}, {}];
  const weightMap: Record<string, string> = {};
  weights.names().forEach((name, i) => {
    const { shape } = weights.info(name);
    shards[i % 2][name] = { dtype: "F32", shape, data: weights.float32(name) };
    weightMap[name] = `model-0000${(i % 2) + 1}-of-00002.safetensors`;
  });
  return {
    "config.json": readFileSync(join(dir, "config.json")),
    "model.safetensors.index.json": JSON.stringify({ weight_map: weightMap }),
    "model-00001-of-00002.safetensors": encodeSafetensors(shards[0]),
    "model-00002-of-00002.safetensors": encodeSafetensors(shards[1]).buffer as ArrayBuffer,
  };
}

test("a model from files in memory, whole or sharded, equals the one loaded from disk", async () => {
  const { inputs } = readBatch(SafetensorsFile.open(join(FIXTURE, "io.safetensors")));
  const expected = loadModel(FIXTURE).forward(inputs).logits as Float32Array;
  for (const files of [folder(FIXTURE, ["config.json", "model.safetensors"]), sharded(FIXTURE)]) {
    const model = await loadModelFrom(filesInMemory(files), { backend: "reference" });
    assert.equal(maxAbsDiff(model.forward(inputs).logits as Float32Array, expected), 0);
  }
});

test("an int8 model loads in the browser as it does from disk, quantized or quantized at load", async () => {
  const { inputs } = readBatch(SafetensorsFile.open(join(FIXTURE, "io.safetensors")));
  const quantized = loadModel(FIXTURE, { dtype: "int8" });
  const expected = Float32Array.from(quantized.forward(inputs).logits as Float32Array);
  const files = folder(FIXTURE, ["config.json", "model.safetensors"]);
  const atLoad = await loadModelFrom(filesInMemory(files), { backend: "reference", dtype: "int8" });
  assert.equal(atLoad.dtype, "int8");
  assert.equal(maxAbsDiff(atLoad.forward(inputs).logits as Float32Array, expected), 0);
  const int8Files = {
    ...files,
    "model.safetensors": encodeSafetensors(checkpointTensors(quantized)),
  };
  const stored = await loadModelFrom(filesInMemory(int8Files), { backend: "reference" });
  assert.equal(stored.dtype, "int8");
  assert.equal(maxAbsDiff(stored.forward(inputs).logits as Float32Array, expected), 0);
});

test("a tokenizer from vocab.txt alone encodes as the one from tokenizer.json", async () => {
  const text = "The state of the union is strong, unaffable.";
  const fromVocab = await loadTokenizerFrom(
    filesInMemory(folder(TEACHER_DIR, ["vocab.txt", "tokenizer_config.json"])),
  );
  assert.deepEqual(fromVocab.encode(text).ids, loadTokenizer(TEACHER_DIR).encode(text).ids);
});

test("a pipeline from a base URL: 404 is a missing file, other failures are errors", async () => {
  const requested: string[] = [];
  const server = createServer((request, response) => {
    const name = (request.url ?? "").replace("/model/", "");
    requested.push(name);
    const path = join(TEACHER_DIR, name);
    // No keep-alive: fetch reusing a socket the server is closing fails on a busy machine.
    response.setHeader("Connection", "close");
    if (name === "broken.json") response.writeHead(500).end();
    else if (existsSync(path)) response.writeHead(200).end(readFileSync(path));
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model`;
    const fill = await pipeline("fill-mask", base, { backend: "reference" });
    const [best] = (await fill("The [MASK] of the union is strong.")) as { token_str: string }[];
    assert.equal(best.token_str, "state");
    assert.ok(!requested.includes("vocab.txt"), "vocab.txt is not fetched beside tokenizer.json");
    await assert.rejects(
      pipeline("text-classification", base),
      /text-classification needs a model with a sequence-classification head/,
    );
    await assert.rejects(loadModelFrom(`${base}/absent`), /absent has no config\.json/);
    await assert.rejects(filesAtUrl(base).read("broken.json"), /broken\.json: HTTP 500/);
  } finally {
    server.close();
  }
});

test("a folder without weights or tokenizer says what it lacks", async () => {
  const files = filesInMemory(
    { "config.json": readFileSync(join(FIXTURE, "config.json")) },
    "mine",
  );
  await assert.rejects(
    loadModelFrom(files),
    /mine has no model\.safetensors or model\.safetensors\.index\.json/,
  );
  await assert.rejects(loadTokenizerFrom(files), /no tokenizer in mine/);
});
