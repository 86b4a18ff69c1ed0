// The native backend against the reference backend, kernel by kernel, on awkward shapes, with
// every micro-kernel set this CPU can run and with 1 and 2 threads. Each test computes the
// reference result once and checks every native configuration against it.

import assert from "node:assert/strict";
import { test } from "node:test";
import { loadModel, type ModelLabels } from "../src/models/index.js";
import type { Activation, Backend } from "../src/tensor/backend.js";
import { NativeBackend, nativeKernelSets } from "../src/tensor/native/native-backend.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { AdamW } from "../src/train/optimizer.js";
import { MODEL_FIXTURES } from "./models-fixtures.js";

const reference = new ReferenceBackend();

const natives: { label: string; backend: NativeBackend }[] = nativeKernelSets().flatMap(
  (kernelSet) =>
    [1, 2].map((threads) => ({
      label: `${kernelSet}, ${threads} threads`,
      backend: new NativeBackend({ threads, kernelSet }),
    })),
);

// Deterministic pseudo-random values in [-1, 1).
function random(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

/** Every element within 1e-5 of the expected tensor's largest magnitude, or of `floor` if larger. */
function assertClose(actual: Float32Array, expected: Float32Array, what: string, floor = 0): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = floor;
  for (const value of expected) scale = Math.max(scale, Math.abs(value));
  const tolerance = 1e-5 * scale;
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) {
      assert.fail(
        `${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (scale ${scale})`,
      );
    }
  }
}

/**
 * Runs `run` on the reference and on every native configuration and compares named outputs
 * (assertClose, with `floor`).
 */
function compare<T extends Record<string, Float32Array>>(
  run: (backend: Backend) => T,
  floor = 0,
): void {
  const expected = run(reference);
  for (const { label, backend } of natives) {
    const actual = run(backend);
    for (const key of Object.keys(expected))
      assertClose(actual[key], expected[key], `${label}: ${key}`, floor);
  }
}

test("the CPU's fastest kernel set is the default and the portable one is always there", () => {
  const sets = nativeKernelSets();
  assert.equal(sets.at(-1), "generic");
  assert.equal(new NativeBackend({ threads: 1 }).kernelSet, sets[0]);
});

test("alloc returns zero-filled arrays", () => {
  for (const { backend } of natives) {
    for (const length of [0, 1, 1000]) {
      const a = backend.alloc(length);
      assert.equal(a.length, length);
      assert.ok(a.every((x) => x === 0));
    }
  }
});

const matmulShapes: [number, number, number][] = [
  [1, 1, 1],
  [3, 17, 5],
  [17, 3, 64],
  [64, 64, 64],
  [127, 33, 129],
  [13, 768, 96],
  [130, 40, 300],
  [1, 3072, 17],
  [200, 129, 513],
  [1100, 1030, 7],
  [45, 70, 1700],
  [300, 50, 1000],
  [40, 70, 1024],
  [3, 5, 0],
];
for (const [m, n, k] of matmulShapes) {
  test(`matmul ${m}x${n}x${k}, every transpose, bias and accumulate`, () => {
    const a = random(m * k, m + 2 * k);
    const b = random(k * n, n + 3 * k);
    const bias = random(n, 7);
    const start = random(m * n, 11);
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const [accumulate, withBias] of [
          [false, false],
          [false, true],
          [true, false],
          [true, true],
        ]) {
          for (const constantB of [false, true]) {
            compare((backend) => {
              const c = start.slice();
              const options = {
                transA,
                transB,
                accumulate,
                bias: withBias ? bias : undefined,
                constantB,
              };
              backend.matmul(a, b, c, m, n, k, options);
              return { [`c ${JSON.stringify(options)}`]: c };
            });
          }
        }
      }
    }
  });
}

test("matmul on DistilBERT's feed-forward shapes", () => {
  for (const [m, n, k] of [
    [128, 3072, 768],
    [67, 768, 3072],
  ]) {
    const a = random(m * k, 1);
    const b = random(n * k, 2);
    const bias = random(n, 3);
    compare((backend) => {
      const c = backend.alloc(m * n);
      backend.matmul(a, b, c, m, n, k, { transB: true, bias });
      return { c };
    });
  }
});

test("matmul with constantB packs B once and packs it again after adamw changes it", () => {
  const [m, n, k] = [37, 70, 45];
  const a = random(m * k, 21);
  const grad = random(n * k, 22);
  const step = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 };
  compare((backend) => {
    // Two weights in one buffer, as views: adamw on one must not drop or stale the other.
    const buffer = new Float32Array(2 * n * k);
    buffer.set(random(2 * n * k, 23));
    const first = buffer.subarray(0, n * k);
    const second = buffer.subarray(n * k);
    const run = (b: Float32Array) => {
      const c = new Float32Array(m * n);
      backend.matmul(a, b, c, m, n, k, { transB: true, constantB: true });
      return c;
    };
    const before = run(first);
    const secondBefore = run(second);
    backend.adamw(first, grad, new Float32Array(n * k), new Float32Array(n * k), n * k, step);
    return { before, secondBefore, after: run(first), secondAfter: run(second) };
  });
});

test("matmul with constantB: a packed copy is only found for the same view and shape", () => {
  const [m, n, k] = [9, 12, 10];
  const a = random(m * n * k, 31);
  const data = random(2 * n * k, 32);
  compare((backend) => {
    const b = data.slice();
    const product = (view: Float32Array, rows: number, cols: number, depth: number) => {
      const c = new Float32Array(rows * cols);
      backend.matmul(a, view, c, rows, cols, depth, { constantB: true });
      return c;
    };
    return {
      whole: product(b.subarray(0, n * k), m, n, k),
      shifted: product(b.subarray(1, 1 + n * k), m, n, k),
      reshaped: product(b.subarray(0, n * k), m, k, n),
    };
  });
});

const TRAIN_BATCH = 2;
const TRAIN_SEQ = 7;
const TRAIN_INPUTS = {
  inputIds: Int32Array.from({ length: TRAIN_BATCH * TRAIN_SEQ }, (_, i) => 1 + ((i * 37) % 90)),
  batch: TRAIN_BATCH,
  seq: TRAIN_SEQ,
};

/**
 * The fixture's logits after two AdamW steps on TRAIN_INPUTS; with `inferFirst`, after an
 * inference forward first (whose logits are `before`, and which the first step must change).
 */
function trainTwoSteps(
  backend: Backend,
  fixture: string,
  labels: ModelLabels,
  inferFirst: boolean,
): { before: Float32Array | null; after: Float32Array } {
  const model = loadModel(`${MODEL_FIXTURES}/${fixture}`, { backend });
  const optimizer = new AdamW(backend, model.parameters, { weightDecay: 0.01 });
  const logits = () => (model.forward(TRAIN_INPUTS).logits as Float32Array).slice();
  const before = inferFirst ? logits() : null;
  for (let step = 0; step < 2; step++) {
    model.zeroGradients();
    model.forward(TRAIN_INPUTS, labels, { train: true, dropout: false });
    model.backward();
    optimizer.update(0.05);
    if (before && step === 0) assert.notDeepEqual(logits(), before, "the step changed the logits");
  }
  return { before, after: logits() };
}

test("inference, two training steps, inference: the weights inference packed are repacked", () => {
  const labels = { labels: Int32Array.from([0, 2]) };
  compare((backend) => {
    const { before, after } = trainTwoSteps(backend, "distilbert-seqcls", labels, true);
    return { before: before as Float32Array, after };
  });
});

test("a masked LM trained after inference equals one trained without: the tied projection is repacked", () => {
  const labels = {
    labels: Int32Array.from({ length: TRAIN_BATCH * TRAIN_SEQ }, (_, i) => (i % 3 ? -100 : i)),
  };
  // Bit-equality between the two runs on one backend: a stale packed weight would differ by the
  // training step's whole effect.
  for (const { label, backend } of natives) {
    const afterInference = trainTwoSteps(backend, "distilbert-mlm", labels, true).after;
    const trainedOnly = trainTwoSteps(backend, "distilbert-mlm", labels, false).after;
    assert.deepEqual(afterInference, trainedOnly, label);
  }
});

test("matmul reads and writes subarrays and SharedArrayBuffers in place", () => {
  const [m, n, k] = [5, 7, 9];
  const shared = new Float32Array(new SharedArrayBuffer(4 * (3 + m * k)));
  shared.set(random(m * k, 4), 3);
  const a = shared.subarray(3);
  const b = random(k * n, 5);
  compare((backend) => {
    const whole = new Float32Array(1 + m * n);
    backend.matmul(a, b, whole.subarray(1), m, n, k);
    return { whole };
  });
});

const attentionShapes: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [2, 3, 2, 5],
  [1, 17, 3, 64],
  [2, 33, 2, 16],
  [1, 128, 2, 64],
];
for (const [batch, seq, heads, headDim] of attentionShapes) {
  test(`attention ${batch}x${seq}, ${heads} heads of ${headDim}, forward and backward`, () => {
    const size = batch * seq * heads * headDim;
    const probsSize = batch * heads * seq * seq;
    const q = random(size, 1);
    const k = random(size, 2);
    const v = random(size, 3);
    const dOut = random(size, 5);
    const keyMask = new Float32Array(batch * seq).fill(1);
    // The first sequence's last keys are masked, and all of the second sequence's.
    keyMask.fill(0, Math.ceil(seq / 2), seq);
    if (batch > 1) keyMask.fill(0, seq, 2 * seq);
    const dropped = random(probsSize, 4).map((x) => (x > -0.6 ? 1 / 0.8 : 0));
    for (const dropoutMask of [undefined, dropped]) {
      compare((backend) => {
        const probs = new Float32Array(probsSize);
        const out = new Float32Array(size);
        backend.attentionForward(
          q,
          k,
          v,
          keyMask,
          probs,
          out,
          batch,
          seq,
          heads,
          headDim,
          dropoutMask,
        );
        const dq = new Float32Array(size).fill(9);
        const dk = new Float32Array(size).fill(9);
        const dv = new Float32Array(size).fill(9);
        backend.attentionBackward(
          dOut,
          q,
          k,
          v,
          probs,
          dq,
          dk,
          dv,
          batch,
          seq,
          heads,
          headDim,
          dropoutMask,
        );
        return { probs, out, dq, dk, dv };
      });
    }
  });
}

for (const [rows, dim] of [
  [1, 1],
  [3, 17],
  [17, 768],
  [127, 64],
  [65, 3072],
]) {
  test(`layerNorm ${rows}x${dim}, forward and backward`, () => {
    const x = random(rows * dim, 1).map((value, i) => value * 3 + (i % 5));
    const gamma = random(dim, 2);
    const beta = random(dim, 3);
    const dOut = random(rows * dim, 4);
    compare((backend) => {
      const out = new Float32Array(rows * dim);
      const mean = new Float32Array(rows);
      const rstd = new Float32Array(rows);
      backend.layerNormForward(x, gamma, beta, out, mean, rstd, rows, dim, 1e-12);
      const dx = new Float32Array(rows * dim);
      const dGamma = random(dim, 5);
      const dBeta = random(dim, 6);
      backend.layerNormBackward(dOut, x, gamma, mean, rstd, dx, dGamma, dBeta, rows, dim);
      return { out, mean, rstd, dx, dGamma, dBeta };
    });
  });
}

for (const kind of ["gelu", "relu", "silu", "gelu_new"] as Activation[]) {
  test(`${kind} forward and backward, in place`, () => {
    for (const n of [1, 17, 4099, 100003]) {
      const x = random(n, n).map((value) => value * 6);
      const dOut = random(n, 2);
      // Errors scale with the input: GELU(-2.9) = -0.0054 is 1 + erf(-2.05) times 1.45, so
      // erf's 4e-7 near -1 is 1e-4 of it (PyTorch's float32 GELU, erf to 1 ulp, carries 2e-5).
      const largestInput = x.reduce((largest, value) => Math.max(largest, Math.abs(value)), 0);
      compare((backend) => {
        const out = x.slice();
        backend.activationForward(kind, out, out, n);
        const dx = dOut.slice();
        backend.activationBackward(kind, x, dx, dx, n);
        return { [`out n=${n}`]: out, [`dx n=${n}`]: dx };
      }, largestInput);
    }
  });
}

test("sumRows, overwriting and accumulating", () => {
  for (const [rows, cols] of [
    [1, 1],
    [3, 17],
    [129, 768],
    [1024, 3],
  ]) {
    const x = random(rows * cols, 1);
    for (const accumulate of [false, true]) {
      compare((backend) => {
        const out = random(cols, 2);
        backend.sumRows(x, out, rows, cols, accumulate);
        return { [`${rows}x${cols} accumulate=${accumulate}`]: out };
      });
    }
  }
});

test("sumOfSquares", () => {
  for (const n of [0, 1, 17, 100003]) {
    const x = random(n + 5, n);
    const expected = reference.sumOfSquares(x, n);
    for (const { label, backend } of natives) {
      const actual = backend.sumOfSquares(x, n);
      assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, expected), `${label}, n=${n}`);
    }
  }
});

test("adamw, three steps", () => {
  for (const n of [1, 17, 100003]) {
    const grad = random(n, 1);
    compare((backend) => {
      const param = random(n, 2);
      const m = random(n, 3).map((value) => value * 0.1);
      const v = random(n, 4).map((value) => value * value * 0.01);
      for (let step = 1; step <= 3; step++) {
        const hyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step };
        backend.adamw(param, grad, m, v, n, hyper);
      }
      return { param, m, v };
    });
  }
});

test("a wrong argument is an error, never a memory overwrite", () => {
  const backend = new NativeBackend({ threads: 1 });
  const six = new Float32Array(6);
  assert.throws(
    () => backend.matmul(six, six, new Float32Array(3), 2, 2, 3),
    /matmul: c has 3 elements but needs 4/,
  );
  const float64 = new Float64Array(6) as unknown as Float32Array;
  assert.throws(
    () => backend.matmul(float64, six, new Float32Array(4), 2, 2, 3),
    /matmul: a must be a Float32Array/,
  );
  assert.throws(() => backend.sumOfSquares(six, -1), /n must be a non-negative integer/);
  assert.throws(() => new NativeBackend({ kernelSet: "sse9" }), /sse9 is not available/);
});
