// Gradients: PyTorch's on the train-step fixture, and finite-difference checks of every layer of
// every head (each parameter tensor along a random direction) on tiny models, on every backend.

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { type ModelConfig, parseConfig } from "../src/io/config.js";
import { SafetensorsFile } from "../src/io/safetensors.js";
import { createModel, loadModel } from "../src/models/index.js";
import { dropoutMask } from "../src/models/layers.js";
import {
  bceWithLogitsLoss,
  crossEntropyLoss,
  mseLoss,
  questionAnsweringLoss,
} from "../src/models/losses.js";
import { Rng } from "../src/models/rng.js";
import type {
  HeadKind,
  Model,
  ModelInputs,
  ModelLabels,
  OutputGradients,
} from "../src/models/types.js";
import type { Backend } from "../src/tensor/backend.js";
import { allBackends } from "./backends.js";
import { MODEL_FIXTURES, maxAbsDiff, readBatch } from "./models-fixtures.js";

const backends = await allBackends();

/** Max |ours - PyTorch's| over each gradient tensor, relative to the tensor's largest magnitude. */
function trainStepErrors(backend: Backend): Map<string, number> {
  const dir = join(MODEL_FIXTURES, "distilbert-train-step");
  const expected = SafetensorsFile.open(join(dir, "grads.safetensors"));
  const model = loadModel(dir, { backend });
  const { inputs, labels } = readBatch(SafetensorsFile.open(join(dir, "io.safetensors")));
  const outputs = model.forward(inputs, labels, { train: true });
  assert.ok(Math.abs((outputs.loss ?? 0) - 1.111250400543213) < 1e-5);
  model.enableGradients();
  model.zeroGradients();
  model.backward();
  const errors = new Map<string, number>();
  for (const param of model.parameters) {
    const reference = expected.float32(param.name);
    const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    // Key biases get an exactly zero gradient (softmax ignores a constant score shift): PyTorch's
    // is rounding noise near 1e-11, so the floor keeps the comparison meaningful.
    errors.set(
      param.name,
      maxAbsDiff(param.grad as Float32Array, reference) / Math.max(scale, 1e-6),
    );
  }
  assert.equal(errors.size, expected.names().length);
  return errors;
}

for (const { label, backend } of backends) {
  test(`distilbert-train-step gradients equal PyTorch's (${label})`, () => {
    for (const [name, error] of trainStepErrors(backend)) {
      assert.ok(error <= 1e-3, `${name}: ${error} of its largest magnitude`);
    }
  });
}

function tinyConfig(raw: Record<string, unknown>): ModelConfig {
  // Weights far from zero so every non-linearity is exercised.
  const common = {
    vocab_size: 23,
    max_position_embeddings: 12,
    pad_token_id: 0,
    initializer_range: 0.5,
  };
  return parseConfig({ ...common, ...raw }, "tiny config");
}

const distilbert = (activation: string, extra: Record<string, unknown> = {}) =>
  tinyConfig({
    model_type: "distilbert",
    dim: 8,
    n_heads: 2,
    n_layers: 2,
    hidden_dim: 12,
    activation,
    dropout: 0.1,
    attention_dropout: 0.1,
    seq_classif_dropout: 0.2,
    qa_dropout: 0.1,
    ...extra,
  });

const bert = (extra: Record<string, unknown> = {}) =>
  tinyConfig({
    model_type: "bert",
    hidden_size: 8,
    num_attention_heads: 2,
    num_hidden_layers: 2,
    intermediate_size: 12,
    hidden_act: "gelu",
    type_vocab_size: 2,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    layer_norm_eps: 1e-5,
    ...extra,
  });

interface GradCase {
  name: string;
  config: ModelConfig;
  head: HeadKind;
  labels: (batch: number, seq: number, rng: Rng) => ModelLabels;
  /** Instead of labels: a loss Σ w·output whose gradient is given to backward. */
  outputGradients?: boolean;
  choices?: number;
}

const int = (rng: Rng, n: number) => rng.int(n);
const ints = (count: number, f: (i: number) => number) =>
  Int32Array.from({ length: count }, (_, i) => f(i));

const CASES: GradCase[] = [
  {
    name: "DistilBERT MLM, gelu",
    config: distilbert("gelu"),
    head: "masked-lm",
    labels: (b, s, rng) => ({ labels: ints(b * s, (i) => (i % 3 === 0 ? int(rng, 23) : -100)) }),
  },
  {
    name: "DistilBERT single-label classification, silu",
    config: distilbert("silu", { id2label: { 0: "a", 1: "b", 2: "c" } }),
    head: "sequence-classification",
    labels: (b, _s, rng) => ({ labels: ints(b, () => int(rng, 3)) }),
  },
  {
    name: "DistilBERT regression, gelu_new",
    config: distilbert("gelu_new", { id2label: { 0: "score" } }),
    head: "sequence-classification",
    labels: (b, _s, rng) => ({ floatLabels: Float32Array.from({ length: b }, () => rng.normal()) }),
  },
  {
    name: "DistilBERT multi-label classification, relu, sinusoidal positions",
    config: distilbert("relu", { sinusoidal_pos_embds: true }),
    head: "sequence-classification",
    labels: (b) => ({ floatLabels: Float32Array.from({ length: b * 2 }, (_, i) => i % 2) }),
  },
  {
    name: "DistilBERT token classification",
    config: distilbert("gelu", { id2label: { 0: "O", 1: "B", 2: "I" } }),
    head: "token-classification",
    labels: (b, s, rng) => ({ labels: ints(b * s, (i) => (i % 4 === 3 ? -100 : int(rng, 3))) }),
  },
  {
    name: "DistilBERT question answering (one position out of range)",
    config: distilbert("gelu"),
    head: "question-answering",
    labels: (b, s, rng) => ({
      startPositions: ints(b, (i) => (i === 0 ? s + 3 : int(rng, s))),
      endPositions: ints(b, () => int(rng, s)),
    }),
  },
  {
    name: "DistilBERT multiple choice",
    config: distilbert("gelu"),
    head: "multiple-choice",
    choices: 3,
    labels: (b, _s, rng) => ({ labels: ints(b, () => int(rng, 3)) }),
  },
  {
    name: "BERT MLM with token types",
    config: bert(),
    head: "masked-lm",
    labels: (b, s, rng) => ({ labels: ints(b * s, (i) => (i % 2 === 0 ? int(rng, 23) : -100)) }),
  },
  {
    name: "BERT sequence classification (pooler)",
    config: bert({ id2label: { 0: "a", 1: "b" } }),
    head: "sequence-classification",
    labels: (b, _s, rng) => ({ labels: ints(b, () => int(rng, 2)) }),
  },
  {
    name: "BERT token classification",
    config: bert({ id2label: { 0: "O", 1: "B", 2: "I" } }),
    head: "token-classification",
    labels: (b, s, rng) => ({ labels: ints(b * s, (i) => (i % 4 === 3 ? -100 : int(rng, 3))) }),
  },
  {
    name: "BERT question answering",
    config: bert(),
    head: "question-answering",
    labels: (b, s, rng) => ({
      startPositions: ints(b, () => int(rng, s)),
      endPositions: ints(b, () => int(rng, s)),
    }),
  },
  {
    name: "BERT multiple choice (pooler)",
    config: bert(),
    head: "multiple-choice",
    choices: 2,
    labels: (b, _s, rng) => ({ labels: ints(b, () => int(rng, 2)) }),
  },
  {
    name: "BERT base, gradient given on the last hidden state",
    config: bert(),
    head: "base",
    labels: () => ({}),
    outputGradients: true,
  },
];

function tinyBatch(config: ModelConfig, choices: number | undefined, rng: Rng): ModelInputs {
  const batch = 2;
  const seq = 5;
  const rows = batch * (choices ?? 1) * seq;
  const inputs: ModelInputs = {
    batch,
    seq,
    // Some pad ids (0) too: their embedding row must get no gradient.
    inputIds: ints(rows, (i) => (i % seq === 4 ? 0 : 1 + int(rng, config.vocabSize - 1))),
    // The last two positions of the first sequence are padding.
    attentionMask: Float32Array.from({ length: rows }, (_, i) => (i < seq && i % seq >= 3 ? 0 : 1)),
  };
  if (choices) inputs.choices = choices;
  if (config.typeVocabSize > 0) inputs.tokenTypeIds = ints(rows, (i) => (i % seq >= 2 ? 1 : 0));
  return inputs;
}

/**
 * The loss the check differentiates: the head's loss, or Σ w·lastHiddenState; and the scale of
 * its float32 rounding: |loss|, or Σ |w·lastHiddenState| (a sum of random-signed terms can be far
 * smaller than the terms whose rounding it carries).
 */
function lossOf(
  model: Model,
  inputs: ModelInputs,
  labels: ModelLabels,
  weights: Float32Array | null,
): { loss: number; scale: number } {
  const outputs = model.forward(inputs, labels, { train: true, dropoutSeed: 11 });
  if (!weights) {
    const loss = outputs.loss as number;
    return { loss, scale: Math.abs(loss) };
  }
  let loss = 0;
  let scale = 0;
  for (let i = 0; i < weights.length; i++) {
    const term = weights[i] * outputs.lastHiddenState[i];
    loss += term;
    scale += Math.abs(term);
  }
  return { loss, scale };
}

function checkCase(backend: Backend, c: GradCase): void {
  const rng = new Rng(5);
  const model = createModel(c.config, null, backend, { head: c.head, seed: 3 });
  const inputs = tinyBatch(c.config, c.choices, rng);
  const labels = c.labels(inputs.batch, inputs.seq, rng);
  const hiddenSize = inputs.batch * (c.choices ?? 1) * inputs.seq * c.config.hiddenSize;
  const weights = c.outputGradients
    ? Float32Array.from({ length: hiddenSize }, () => rng.normal())
    : null;
  const { scale } = lossOf(model, inputs, labels, weights);
  model.enableGradients();
  model.zeroGradients();
  const gradients: OutputGradients | undefined = weights
    ? { dLastHiddenState: weights }
    : undefined;
  model.backward(gradients);
  const epsilon = 1e-3;
  for (const param of model.parameters) {
    const grad = param.grad as Float32Array;
    if (param.frozen) {
      assert.ok(
        grad.every((v) => v === 0),
        `${param.name} is frozen`,
      );
      continue;
    }
    const direction = Float32Array.from(param.data, () => rng.normal());
    // PyTorch gives the padding row no gradient (padding_idx) although the lookup uses it.
    if (param.name.endsWith("word_embeddings.weight")) direction.fill(0, 0, c.config.hiddenSize);
    const original = Float32Array.from(param.data);
    let analytic = 0;
    for (let i = 0; i < grad.length; i++) analytic += grad[i] * direction[i];
    const lossAt = (sign: number) => {
      for (let i = 0; i < original.length; i++) {
        param.data[i] = original[i] + sign * epsilon * direction[i];
      }
      return lossOf(model, inputs, labels, weights).loss;
    };
    const numeric = (lossAt(1) - lossAt(-1)) / (2 * epsilon);
    param.data.set(original);
    const error = Math.abs(analytic - numeric);
    // float32 rounding in the loss (about 1e-6 of its scale) divided by the step bounds the noise.
    const noise = (1e-6 * Math.max(1, scale)) / epsilon;
    assert.ok(
      error <= 2e-2 * Math.max(Math.abs(analytic), Math.abs(numeric)) + noise,
      `${c.name}: ${param.name}: analytic ${analytic}, finite difference ${numeric}`,
    );
  }
}

for (const { label, backend } of backends) {
  for (const c of CASES) {
    test(`finite differences: ${c.name} (${label})`, () => checkCase(backend, c));
  }
}

test("the pad token's embedding row gets no gradient; gradients accumulate until zeroed", () => {
  const model = createModel(distilbert("gelu"), null, backends[0].backend, {
    head: "masked-lm",
    seed: 1,
  });
  const rng = new Rng(2);
  const inputs = tinyBatch(model.config, undefined, rng);
  const labels = { labels: ints(10, (i) => (i % 2 === 0 ? 4 : -100)) };
  model.forward(inputs, labels, { train: true, dropout: false });
  model.enableGradients();
  model.zeroGradients();
  model.backward();
  const lin = model.parameters.find((p) => p.name.endsWith("layer.0.ffn.lin1.weight"));
  const once = Float32Array.from(lin?.grad as Float32Array);
  model.backward();
  assert.ok(
    maxAbsDiff(
      lin?.grad as Float32Array,
      once.map((v) => 2 * v),
    ) < 1e-6,
  );
  // The tied decoder does give the pad row a gradient, as in PyTorch; the lookup does not.
  const encoderOnly = createModel(distilbert("gelu"), null, backends[0].backend, {
    head: "base",
    seed: 1,
  });
  encoderOnly.forward(inputs, undefined, { train: true, dropout: false });
  encoderOnly.enableGradients();
  const size = inputs.batch * inputs.seq * 8;
  encoderOnly.backward({ dLastHiddenState: new Float32Array(size).fill(1) });
  const word = encoderOnly.parameters[0];
  assert.ok((word.grad as Float32Array).subarray(0, 8).every((v) => v === 0));
  assert.ok((word.grad as Float32Array).subarray(8).some((v) => v !== 0));
});

test("dropout keeps with probability 1-p and scales kept values by 1/(1-p)", () => {
  const mask = new Float32Array(100_000);
  dropoutMask(new Rng(9), mask, mask.length, 0.25);
  const kept = mask.filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6));
  assert.ok(Math.abs(kept.length / mask.length - 0.75) < 0.01);
  const again = new Float32Array(100_000);
  dropoutMask(new Rng(9), again, again.length, 0.25);
  assert.deepEqual(again, mask);
});

/** Central differences of a loss over each logit, in float64 arithmetic on float32 inputs. */
function checkLossGradient(
  logits: Float32Array,
  grad: Float32Array,
  loss: (x: Float32Array) => number,
): void {
  const epsilon = 1e-2;
  for (let i = 0; i < logits.length; i++) {
    const x = Float32Array.from(logits);
    x[i] = logits[i] + epsilon;
    const up = loss(x);
    x[i] = logits[i] - epsilon;
    const down = loss(x);
    const h = (Math.fround(logits[i] + epsilon) - Math.fround(logits[i] - epsilon)) / 2;
    const numeric = (up - down) / (2 * h);
    assert.ok(Math.abs(numeric - grad[i]) < 1e-4, `logit ${i}: ${grad[i]} vs ${numeric}`);
  }
}

test("losses: values as PyTorch defines them and gradients by finite differences", () => {
  const rng = new Rng(4);
  const logits = Float32Array.from({ length: 12 }, () => rng.normal() * 2);
  const labels = Int32Array.of(2, -100, 0);
  const ce = crossEntropyLoss(logits, labels, 3, 4);
  let expected = 0;
  for (const r of [0, 2]) {
    const row = [...logits.subarray(4 * r, 4 * r + 4)];
    expected += Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[labels[r]];
  }
  assert.ok(Math.abs(ce.loss - expected / 2) < 1e-6);
  checkLossGradient(logits, ce.grad, (x) => crossEntropyLoss(x, labels, 3, 4).loss);
  assert.ok(Number.isNaN(crossEntropyLoss(logits, Int32Array.of(-100, -100, -100), 3, 4).loss));

  const targets = Float32Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const bce = bceWithLogitsLoss(logits, targets, 12);
  let bceExpected = 0;
  for (let i = 0; i < 12; i++) {
    const p = 1 / (1 + Math.exp(-logits[i]));
    bceExpected -= targets[i] * Math.log(p) + (1 - targets[i]) * Math.log(1 - p);
  }
  assert.ok(Math.abs(bce.loss - bceExpected / 12) < 1e-6);
  checkLossGradient(logits, bce.grad, (x) => bceWithLogitsLoss(x, targets, 12).loss);

  const mse = mseLoss(logits, targets, 12);
  checkLossGradient(logits, mse.grad, (x) => mseLoss(x, targets, 12).loss);

  // QA: batch 2, seq 6; an end position past the sequence is clamped to 6 and ignored.
  const start = logits.subarray(0, 12);
  const end = Float32Array.from(start).reverse();
  const starts = Int32Array.of(1, 4);
  const ends = Int32Array.of(9, 5);
  const qa = questionAnsweringLoss(start, end, starts, ends, 2, 6);
  const startOnly = crossEntropyLoss(start, starts, 2, 6, 6).loss;
  const endOnly = crossEntropyLoss(end, Int32Array.of(6, 5), 2, 6, 6).loss;
  assert.ok(Math.abs(qa.loss - (startOnly + endOnly) / 2) < 1e-9);
  checkLossGradient(
    start,
    qa.dStart,
    (x) => questionAnsweringLoss(x, end, starts, ends, 2, 6).loss,
  );
  checkLossGradient(end, qa.dEnd, (x) => questionAnsweringLoss(start, x, starts, ends, 2, 6).loss);
});
