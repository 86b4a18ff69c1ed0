import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { SafetensorsFile } from "../src/io/safetensors.js";
import { loadModel } from "../src/models/index.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { AdamW, clipGradNorm } from "../src/train/optimizer.js";

const FIXTURE = "test/fixtures/models/distilbert-train-step";

test("forward, backward, clipping and one AdamW step equal torch's on the train-step fixture", () => {
  const meta = JSON.parse(readFileSync(`${FIXTURE}/meta.json`, "utf8")) as {
    loss: number;
    grad_norm_before_clip: number;
  };
  const io = SafetensorsFile.open(`${FIXTURE}/io.safetensors`);
  const [batch, seq] = io.info("input_ids").shape;
  const model = loadModel(FIXTURE, { backend: new ReferenceBackend() });
  model.enableGradients();
  const outputs = model.forward(
    {
      inputIds: io.int32("input_ids"),
      attentionMask: io.float32("attention_mask"),
      batch,
      seq,
    },
    { labels: io.int32("labels") },
    { train: true, dropoutSeed: 0 },
  );
  assert.ok(Math.abs((outputs.loss ?? 0) - meta.loss) < 1e-5, `loss ${outputs.loss}`);
  model.backward();

  const grads = SafetensorsFile.open(`${FIXTURE}/grads.safetensors`);
  for (const param of model.parameters) {
    const want = grads.float32(param.name);
    let largest = 0;
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      largest = Math.max(largest, Math.abs(want[i]));
      worst = Math.max(worst, Math.abs((param.grad as Float32Array)[i] - want[i]));
    }
    assert.ok(worst <= 1e-3 * largest + 1e-9, `${param.name}: ${worst} of ${largest}`);
  }

  const norm = clipGradNorm(model.backend, model.parameters, 1);
  assert.ok(Math.abs(norm - meta.grad_norm_before_clip) < 1e-5, `pre-clip norm ${norm}`);
  new AdamW(model.backend, model.parameters, { weightDecay: 0.01, decayAll: true }).update(1e-3);
  // Adam divides by |g| + 1e-8, so where the true gradient is zero (the attention key bias: the
  // softmax ignores it) both sides' rounding noise of ~1e-11 becomes a step of up to ~1e-6 in
  // either direction. Those elements get a looser bound; every other one must be within 1e-6.
  const expected = SafetensorsFile.open(`${FIXTURE}/params_after_adamw.safetensors`);
  let worst = 0;
  let worstNoise = 0;
  for (const param of model.parameters) {
    const want = expected.float32(param.name);
    const torchGrad = grads.float32(param.name);
    for (let i = 0; i < want.length; i++) {
      const diff = Math.abs(param.data[i] - want[i]);
      if (Math.abs(torchGrad[i]) < 1e-7) worstNoise = Math.max(worstNoise, diff);
      else worst = Math.max(worst, diff);
    }
  }
  assert.ok(worst < 1e-6, `params after the step: max |diff| ${worst}`);
  assert.ok(worstNoise < 1e-5, `params with rounding-noise gradients: max |diff| ${worstNoise}`);
});
