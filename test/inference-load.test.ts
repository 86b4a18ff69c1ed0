// Models loaded for inference only (loadModel's `inference`, what pipelines and serving use): on
// every backend their outputs are the same bits as the model loaded for training (on native the
// Linear weights are packed at load and the float copies freed; elsewhere nothing changes), and
// they refuse to train or to be saved.

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { SafetensorsFile } from "../src/io/safetensors.js";
import { checkpointTensors, loadModel } from "../src/models/index.js";
import { allBackends } from "./backends.js";
import { FORWARD_FIXTURES, MODEL_FIXTURES, readBatch } from "./models-fixtures.js";

test("an inference-only model gives the training model's outputs, bit for bit", async () => {
  for (const { label, backend } of await allBackends()) {
    for (const fixture of FORWARD_FIXTURES) {
      const dir = join(MODEL_FIXTURES, fixture);
      const { inputs } = readBatch(SafetensorsFile.open(join(dir, "io.safetensors")));
      const want = loadModel(dir, { backend }).forward(inputs);
      const model = loadModel(dir, { backend, inference: true });
      for (const round of [1, 2]) {
        const got = model.forward(inputs);
        assert.deepEqual(got.lastHiddenState, want.lastHiddenState, `${label} ${fixture} ${round}`);
        assert.deepEqual(got.logits, want.logits, `${label} ${fixture} logits ${round}`);
      }
      if (backend.name === "native") {
        const packed = model.parameters.filter((param) => param.inferenceOnly);
        assert.ok(packed.length > 0 && packed.every((param) => param.data.length === 0), fixture);
      }
      assert.throws(() => model.enableGradients(), /loaded for inference only/);
      assert.throws(() => checkpointTensors(model), /loaded for inference only/);
    }
  }
});
