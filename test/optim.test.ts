import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { SafetensorsFile } from "../src/io/safetensors.js";
import { Rng } from "../src/models/rng.js";
import type { Parameter } from "../src/models/types.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { AdamW, clipGradNorm, excludedFromDecay } from "../src/train/optimizer.js";
import { learningRate, warmupStepsFor } from "../src/train/schedule.js";

const FIXTURE = "test/fixtures/models/distilbert-train-step";
const backend = new ReferenceBackend();

interface TrainStepMeta {
  grad_norm_before_clip: number;
  clip_max_norm: number;
  adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
}

function parameter(name: string, data: number[], grad: number[]): Parameter {
  return {
    name,
    shape: [data.length],
    data: Float32Array.from(data),
    grad: Float32Array.from(grad),
  };
}

test("one clipped AdamW step matches torch on the train-step fixture", () => {
  const meta = JSON.parse(readFileSync(`${FIXTURE}/meta.json`, "utf8")) as TrainStepMeta;
  const weights = SafetensorsFile.open(`${FIXTURE}/model.safetensors`);
  const grads = SafetensorsFile.open(`${FIXTURE}/grads.safetensors`);
  const expected = SafetensorsFile.open(`${FIXTURE}/params_after_adamw.safetensors`);
  // The fixture's classifier has no vocab projector; every stored tensor is a parameter.
  const params: Parameter[] = expected.names().map((name) => ({
    name,
    shape: weights.info(name).shape,
    data: Float32Array.from(weights.float32(name)),
    grad: Float32Array.from(grads.float32(name)),
  }));

  const norm = clipGradNorm(backend, params, meta.clip_max_norm);
  assert.ok(Math.abs(norm - meta.grad_norm_before_clip) < 1e-6, `pre-clip norm ${norm}`);

  const { lr, betas, eps, weight_decay } = meta.adamw;
  const optimizer = new AdamW(backend, params, {
    weightDecay: weight_decay,
    beta1: betas[0],
    beta2: betas[1],
    eps,
    decayAll: true,
  });
  optimizer.update(lr);
  let worst = 0;
  for (const param of params) {
    const want = expected.float32(param.name);
    for (let i = 0; i < want.length; i++) {
      worst = Math.max(worst, Math.abs(param.data[i] - want[i]));
    }
  }
  assert.ok(worst < 1e-6, `params after the step: max |diff| ${worst}`);
});

test("AdamW follows torch's formula over several steps, in float64 arithmetic", () => {
  const param = parameter("w", [0.5, -1.5, 2], [0, 0, 0]);
  const optimizer = new AdamW(backend, [param], { weightDecay: 0.1 });
  const x = [0.5, -1.5, 2];
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  const lr = 0.01;
  for (let step = 1; step <= 5; step++) {
    const g = [step * 0.1, -0.3, 1 / step];
    param.grad = Float32Array.from(g);
    optimizer.update(lr);
    for (let i = 0; i < 3; i++) {
      x[i] *= 1 - lr * 0.1;
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
      const mHat = m[i] / (1 - 0.9 ** step);
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - 0.999 ** step) + 1e-8;
      x[i] -= (lr * mHat) / denom;
      assert.ok(Math.abs(param.data[i] - x[i]) < 1e-6, `step ${step} [${i}]`);
    }
  }
  assert.equal(optimizer.step, 5);
});

test("biases and LayerNorm weights are kept out of weight decay unless decayAll", () => {
  for (const name of [
    "bert.encoder.layer.0.attention.output.LayerNorm.weight",
    "distilbert.transformer.layer.1.sa_layer_norm.weight",
    "distilbert.transformer.layer.1.output_layer_norm.weight",
    "classifier.bias",
  ]) {
    assert.ok(excludedFromDecay(name), name);
  }
  for (const name of [
    "distilbert.transformer.layer.0.attention.q_lin.weight",
    "bert.embeddings.word_embeddings.weight",
    "classifier.weight",
  ]) {
    assert.ok(!excludedFromDecay(name), name);
  }
  // Zero gradient: only decay moves a parameter.
  const make = () => [parameter("a.weight", [1], [0]), parameter("a.bias", [1], [0])];
  const grouped = make();
  new AdamW(backend, grouped, { weightDecay: 0.5 }).update(0.1);
  assert.ok(Math.abs(grouped[0].data[0] - 0.95) < 1e-7);
  assert.equal(grouped[1].data[0], 1);
  const all = make();
  new AdamW(backend, all, { weightDecay: 0.5, decayAll: true }).update(0.1);
  assert.ok(Math.abs(all[1].data[0] - 0.95) < 1e-7);
});

test("optimizer state round-trips through moments() and restore()", () => {
  const run = (steps: number, restoreAt?: number) => {
    let param = parameter("w", [1, 2], [0, 0]);
    let optimizer = new AdamW(backend, [param], { weightDecay: 0.01 });
    for (let step = 1; step <= steps; step++) {
      if (step === restoreAt) {
        const saved = Object.fromEntries(
          Object.entries(optimizer.moments()).map(([k, a]) => [k, Float32Array.from(a)]),
        );
        const savedStep = optimizer.step;
        param = parameter("w", Array.from(param.data), [0, 0]);
        optimizer = new AdamW(backend, [param], { weightDecay: 0.01 });
        optimizer.restore(savedStep, (name) => saved[name]);
      }
      param.grad = Float32Array.from([Math.sin(step), Math.cos(step)]);
      optimizer.update(0.05);
    }
    return Array.from(param.data);
  };
  assert.deepEqual(run(6, 4), run(6));
});

test("clipping scales to the max norm only when the norm exceeds it", () => {
  const params = [parameter("a", [0, 0], [3, 0]), parameter("b", [0], [4])];
  assert.equal(clipGradNorm(backend, params, 10), 5);
  assert.deepEqual(Array.from(params[1].grad ?? []), [4]);
  assert.equal(clipGradNorm(backend, params, 1), 5);
  const after = Math.hypot(params[0].grad?.[0] ?? 0, params[1].grad?.[0] ?? 0);
  assert.ok(Math.abs(after - 1) < 1e-6, `norm after clipping ${after}`);
});

test("schedules: linear warm-up then linear decay, cosine, constant, as Hugging Face", () => {
  assert.equal(warmupStepsFor(1000, 0.1), 100);
  assert.equal(warmupStepsFor(15, 0.1), 2);
  const linear = { kind: "linear" as const, peakLr: 1, warmupSteps: 10, totalSteps: 110 };
  assert.equal(learningRate(linear, 0), 0);
  assert.equal(learningRate(linear, 5), 0.5);
  assert.equal(learningRate(linear, 10), 1);
  assert.equal(learningRate(linear, 60), 0.5);
  assert.equal(learningRate(linear, 110), 0);
  assert.equal(learningRate(linear, 200), 0);
  const cosine = { ...linear, kind: "cosine" as const };
  assert.equal(learningRate(cosine, 5), 0.5);
  assert.ok(Math.abs(learningRate(cosine, 60) - 0.5) < 1e-12);
  assert.ok(Math.abs(learningRate(cosine, 35) - 0.5 * (1 + Math.cos(Math.PI / 4))) < 1e-12);
  assert.ok(learningRate(cosine, 110) < 1e-12);
  const constant = { ...linear, kind: "constant" as const };
  assert.equal(learningRate(constant, 2), 0.2);
  assert.equal(learningRate(constant, 100), 1);
  const noWarmup = { ...linear, warmupSteps: 0, totalSteps: 100 };
  assert.equal(learningRate(noWarmup, 0), 1);
});

test("the RNG is seeded, continues exactly from a saved state, and is roughly uniform", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 10; i++) assert.equal(a.uint32(), b.uint32());
  const resumed = Rng.fromState(a.state());
  for (let i = 0; i < 10; i++) assert.equal(a.float(), resumed.float());
  assert.notEqual(new Rng(42, 1).uint32(), new Rng(42, 0).uint32());
  assert.notEqual(new Rng(1).uint32(), new Rng(2).uint32());
  const rng = new Rng(7);
  let sum = 0;
  let squares = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const x = rng.normal();
    sum += x;
    squares += x * x;
  }
  assert.ok(Math.abs(sum / n) < 0.03);
  assert.ok(Math.abs(squares / n - 1) < 0.05);
  const items = [1, 2, 3, 4, 5, 6, 7, 8];
  const shuffled = new Rng(3).shuffle([...items]);
  assert.deepEqual([...shuffled].sort(), items);
  assert.deepEqual(new Rng(3).shuffle([...items]), shuffled);
});
