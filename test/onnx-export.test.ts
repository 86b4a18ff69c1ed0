// ONNX export: every fixture head run by onnxruntime-node equals Hugging Face's outputs; exported
// models run in transformers.js equal our pipelines, its q8 our int8 model; the CLI contract.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { env, pipeline as transformersPipeline } from "@huggingface/transformers";
import * as ort from "onnxruntime-node";
import { loadConfig } from "../src/io/config.js";
import { decodeModelProto } from "../src/io/onnx-proto.js";
import { SafetensorsFile } from "../src/io/safetensors.js";
import { createModel, HEAD_KINDS, loadModel, saveModel } from "../src/models/index.js";
import { exportOnnx } from "../src/models/onnx-export.js";
import { Rng } from "../src/models/rng.js";
import type { ModelInputs } from "../src/models/types.js";
import { pipeline } from "../src/pipelines/index.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { FORWARD_FIXTURES, MODEL_FIXTURES, maxAbsDiff, outputByName } from "./models-fixtures.js";
import { temporaryDir, tinyModelFolder } from "./train-helpers.js";

const CLI = "dist/src/cli/main.js";
const dir = temporaryDir("onnx");

async function runOnnx(
  file: string,
  feeds: Record<string, { data: ArrayLike<number>; shape: number[] }>,
) {
  const session = await ort.InferenceSession.create(file);
  const tensors = Object.fromEntries(
    Object.entries(feeds).map(([name, { data, shape }]) => [
      name,
      new ort.Tensor(
        "int64",
        BigInt64Array.from(data, (v) => BigInt(v)),
        shape,
      ),
    ]),
  );
  const outputs = await session.run(tensors);
  await session.release();
  return Object.fromEntries(
    Object.entries(outputs).map(([name, tensor]) => [name, tensor.data as Float32Array]),
  );
}

/** The fixture's inputs cut to the first `seq` tokens (all of them when undefined). */
function fixtureFeeds(io: SafetensorsFile, inputs: string[], seq?: number) {
  const feeds: Record<string, { data: Int32Array; shape: number[] }> = {};
  for (const name of inputs) {
    const shape = io.info(name).shape;
    const full = io.int32(name);
    const last = shape[shape.length - 1];
    const keep = seq ?? last;
    const rows = full.length / last;
    const data = new Int32Array(rows * keep);
    for (let r = 0; r < rows; r++) data.set(full.subarray(r * last, r * last + keep), r * keep);
    feeds[name] = { data, shape: [...shape.slice(0, -1), keep] };
  }
  return feeds;
}

function ourInputs(feeds: Record<string, { data: Int32Array; shape: number[] }>): ModelInputs {
  const shape = feeds.input_ids.shape;
  return {
    inputIds: feeds.input_ids.data,
    attentionMask: Float32Array.from(feeds.attention_mask.data),
    tokenTypeIds: feeds.token_type_ids?.data,
    batch: shape[0],
    seq: shape[shape.length - 1],
    choices: shape.length === 3 ? shape[1] : undefined,
  };
}

test("every head exported runs in onnxruntime with Hugging Face's outputs, at several lengths", async () => {
  for (const fixture of FORWARD_FIXTURES) {
    const source = join(MODEL_FIXTURES, fixture);
    const exported = exportOnnx(source, join(dir, fixture));
    const io = SafetensorsFile.open(join(source, "io.safetensors"));
    const outputs = await runOnnx(exported.files.model, fixtureFeeds(io, exported.inputs));
    for (const name of exported.outputs) {
      if (!io.has(name)) continue;
      const diff = maxAbsDiff(outputs[name], io.float32(name));
      assert.ok(diff < 1e-4, `${fixture} ${name}: ${diff}`);
    }
    const model = loadModel(source);
    for (const seq of [3, 7]) {
      const feeds = fixtureFeeds(io, exported.inputs, seq);
      const theirs = await runOnnx(exported.files.model, feeds);
      const ours = model.forward(ourInputs(feeds));
      for (const name of exported.outputs) {
        const diff = maxAbsDiff(theirs[name], outputByName(ours, name) as Float32Array);
        assert.ok(diff < 1e-4, `${fixture} ${name} at ${seq} tokens: ${diff}`);
      }
    }
  }
});

test("opset 14 (LayerNorm spelt out) and the int8 graph in onnxruntime's dynamic-quantization form", async () => {
  const source = join(MODEL_FIXTURES, "bert-mlm");
  const exported = exportOnnx(source, join(dir, "bert-mlm-14"), { opset: 14, quantize: "int8" });
  const io = SafetensorsFile.open(join(source, "io.safetensors"));
  const outputs = await runOnnx(exported.files.model, fixtureFeeds(io, exported.inputs));
  assert.ok(maxAbsDiff(outputs.logits, io.float32("logits")) < 1e-4);
  const graph = decodeModelProto(readFileSync(exported.files.quantized as string)) as {
    opset_import: { version: number }[];
    graph: { node: { op_type: string }[] };
  };
  assert.equal(graph.opset_import[0].version, 14);
  const ops = new Set(graph.graph.node.map((node) => node.op_type));
  for (const op of ["DynamicQuantizeLinear", "MatMulInteger"]) assert.ok(ops.has(op), op);
  // Random fixtures are too small for per-tensor activation quantization to be near float: the
  // int8 export is checked against our int8 model on the real teacher, through transformers.js.
  const quantized = await runOnnx(
    exported.files.quantized as string,
    fixtureFeeds(io, exported.inputs),
  );
  assert.equal(quantized.logits.length, io.float32("logits").length);
  assert.ok(quantized.logits.every(Number.isFinite));
});

test("transformers.js runs the exported teacher and classifier as our pipelines do; q8 as our int8", async () => {
  const root = join(dir, "transformersjs");
  const teacher = "models/bert-mini-sotu";
  const classifier = "models/bert-mini-sotu-party";
  exportOnnx(teacher, join(root, "teacher"), { quantize: "int8" });
  exportOnnx(classifier, join(root, "party"), { quantize: "int8" });
  env.localModelPath = `${root}/`;
  env.allowRemoteModels = false;
  const text = "The president of the united [MASK].";
  for (const [dtype, ours] of [
    ["fp32", await pipeline("fill-mask", teacher)],
    ["q8", await pipeline("fill-mask", teacher, { dtype: "int8" })],
  ] as const) {
    const fill = await transformersPipeline("fill-mask", "teacher", { dtype });
    const theirs = (await fill(text)) as { score: number; token: number }[];
    const mine = (await ours.run(text)) as { score: number; token: number }[];
    assert.deepEqual(
      theirs.map((r) => r.token),
      mine.map((r) => r.token),
      dtype,
    );
    const tolerance = dtype === "fp32" ? 1e-5 : 2e-3;
    for (const [i, r] of theirs.entries()) {
      assert.ok(Math.abs(r.score - mine[i].score) < tolerance, `${dtype} ${i}`);
    }
  }
  const speech = "We will cut taxes for working families and secure the border.";
  for (const [dtype, ours] of [
    ["fp32", await pipeline("text-classification", classifier)],
    ["q8", await pipeline("text-classification", classifier, { dtype: "int8" })],
  ] as const) {
    const classify = await transformersPipeline("text-classification", "party", { dtype });
    const [theirs] = (await classify(speech)) as { label: string; score: number }[];
    const [mine] = (await ours.run(speech)) as { label: string; score: number }[];
    assert.equal(theirs.label, mine.label, dtype);
    assert.ok(Math.abs(theirs.score - mine.score) < (dtype === "fp32" ? 1e-5 : 1e-2), dtype);
  }
});

test("export's CLI: --verify --json, the folder transformers.js reads, clear refusals", () => {
  const out = join(dir, "cli");
  const args = ["export", "--model", join(MODEL_FIXTURES, "distilbert-qa"), "--format", "onnx"];
  const result = JSON.parse(
    execFileSync("node", [CLI, ...args, "--out", out, "--quantize", "int8", "--verify", "--json"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }),
  );
  assert.deepEqual(result.inputs, ["input_ids", "attention_mask"]);
  assert.deepEqual(result.outputs, ["start_logits", "end_logits"]);
  for (const diff of Object.values(result.verify["model.onnx"]) as number[]) assert.ok(diff < 1e-4);
  assert.ok("model_quantized.onnx" in result.verify);
  const again = spawnSync("node", [CLI, ...args, "--out", out], { encoding: "utf8" });
  assert.equal(again.status, 1);
  assert.match(again.stderr, /is not empty/);
  const format = spawnSync(
    "node",
    [CLI, ...args.slice(0, 3), "--format", "tflite", "--out", join(dir, "x")],
    {
      encoding: "utf8",
    },
  );
  assert.match(format.stderr, /--format must be onnx, got 'tflite'/);
  const opset = spawnSync("node", [CLI, ...args, "--out", join(dir, "y"), "--opset", "9"], {
    encoding: "utf8",
  });
  assert.match(opset.stderr, /--opset must be between 14 and 23, got 9/);
});

test("BERT's heads (pooler, token types) export as they run; large weights go to external data", async () => {
  const backend = new ReferenceBackend();
  const config = loadConfig(tinyModelFolder("bert"));
  const rng = new Rng(3);
  const batch = 2;
  const seq = 6;
  for (const head of HEAD_KINDS) {
    const model = createModel(config, null, backend, { head, seed: 5 });
    const folder = join(dir, `bert-${head}`);
    saveModel(model, config, folder);
    const out = join(dir, `bert-${head}-onnx`);
    const exported = exportOnnx(folder, out, { externalDataAbove: head === "base" ? 1e5 : 2e9 });
    const rows = head === "multiple-choice" ? batch * 2 : batch;
    const shape = head === "multiple-choice" ? [batch, 2, seq] : [batch, seq];
    const ids = Int32Array.from({ length: rows * seq }, () => 1 + rng.int(30000));
    const mask = Int32Array.from({ length: rows * seq }, (_, i) =>
      i % seq < seq - (i % 2) ? 1 : 0,
    );
    const types = Int32Array.from({ length: rows * seq }, (_, i) => (i % seq >= 3 ? 1 : 0));
    const feeds = {
      input_ids: { data: ids, shape },
      attention_mask: { data: mask, shape },
      token_type_ids: { data: types, shape },
    };
    const theirs = await runOnnx(exported.files.model, feeds);
    const ours = loadModel(folder).forward(ourInputs(feeds));
    for (const name of exported.outputs) {
      const diff = maxAbsDiff(theirs[name], outputByName(ours, name) as Float32Array);
      assert.ok(diff < 1e-4, `BERT ${head} ${name}: ${diff}`);
    }
    if (head === "base") {
      assert.deepEqual(exported.outputs, ["last_hidden_state", "pooler_output"]);
      assert.ok(existsSync(`${exported.files.model}_data`), "weights in model.onnx_data");
    }
  }
});
