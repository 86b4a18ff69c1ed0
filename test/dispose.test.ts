// Memory that is given back: the WebAssembly heap reuses released blocks (merged with their
// neighbours, zero-filled again), and models, row-wise masked LMs and the training loop's
// optimizer return everything they took, so a page that loads, trains and drops models again and
// again holds no more than one round of them.

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { RowMaskedLM } from "../src/distill/row-mlm.js";
import { loadConfig } from "../src/io/config.js";
import { Checkpoint, SafetensorsFile } from "../src/io/safetensors.js";
import { loadModel } from "../src/models/index.js";
import { WasmBackend } from "../src/tensor/wasm/backend.js";
import { WasmHeap } from "../src/tensor/wasm/heap.js";
import { memoryStore } from "../src/train/memory-store.js";
import { train } from "../src/train/trainer.js";
import { MODEL_FIXTURES, readBatch } from "./models-fixtures.js";

test("the WebAssembly heap reuses released blocks, merged, and zero-fills them", () => {
  const heap = new WasmHeap(1, 64);
  const a = heap.allocate(100);
  const b = heap.allocate(1000);
  const c = heap.allocate(64);
  heap.bytes(b, 1000).fill(7);
  assert.equal(heap.bytesInUse, 128 + 1024 + 64);
  heap.release(b);
  assert.equal(heap.allocate(500), b, "first fit");
  heap.release(b);
  heap.release(a);
  // a and b merged: one block of 128 + 1024 bytes, before c.
  const merged = heap.allocate(1100);
  assert.equal(merged, a);
  assert.ok(
    heap.bytes(merged, 1100).every((byte) => byte === 0),
    "zero-filled again",
  );
  heap.release(merged);
  heap.release(c);
  assert.equal(heap.bytesInUse, 0);
  assert.equal(heap.allocate(10), a, "the top came back down");
  assert.throws(() => heap.release(a + 64), /no block/);
});

test("disposed models and finished runs give the WebAssembly heap back", async () => {
  const backend = await WasmBackend.create({ threads: 2 });
  const dir = join(MODEL_FIXTURES, "distilbert-seqcls");
  const { inputs } = readBatch(SafetensorsFile.open(join(dir, "io.safetensors")));
  const mlmDir = join(MODEL_FIXTURES, "distilbert-mlm");
  const mlmInputs = readBatch(SafetensorsFile.open(join(mlmDir, "io.safetensors"))).inputs;
  const round = (dtype: "float32" | "int8") => {
    const model = loadModel(dir, { backend, dtype });
    model.forward(inputs);
    if (dtype === "float32") {
      const features = Array.from({ length: 4 }, (_, i) => ({
        example: i,
        sequences: [{ ids: [101, 200 + i, 102], typeIds: [0, 0, 0] }],
        label: i % 2,
        length: 3,
      }));
      train(
        {
          model,
          writeFolder() {},
          train: { path: "rows", features },
          eval: null,
          labels: null,
          padId: 0,
        },
        {
          task: "text-classification",
          epochs: 1,
          batchSize: 2,
          lr: 1e-3,
          weightDecay: 0,
          decayAll: false,
          warmupRatio: 0,
          schedule: "linear",
          gradAccum: 1,
          maxGradNorm: 1,
          seed: 1,
          maxSteps: null,
          evalEvery: null,
          earlyStopping: null,
          metric: "loss",
          saveEvery: null,
          store: memoryStore("rows"),
        },
      );
    }
    model.dispose();
    const rowModel = RowMaskedLM.create(
      loadConfig(mlmDir),
      Checkpoint.open(mlmDir),
      backend,
      mlmDir,
      dtype,
    );
    rowModel.forward(mlmInputs, Int32Array.of(0, 1, 2));
    rowModel.dispose();
    assert.throws(() => model.forward(inputs), /disposed/);
  };
  // The first round grows the backend's own workspaces; later rounds must take nothing more.
  round("float32");
  round("int8");
  const settled = backend.bytesInUse;
  for (let i = 0; i < 3; i++) {
    round("float32");
    round("int8");
    assert.equal(backend.bytesInUse, settled, `round ${i + 2} left memory behind`);
  }
  backend.dispose();
});
