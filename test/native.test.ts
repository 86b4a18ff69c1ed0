// The native backend against the reference backend, kernel by kernel, on awkward shapes, with
// every micro-kernel set this CPU can run and with 1 and 2 threads.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Activation, Backend } from "../src/tensor/backend.js";
import { NativeBackend, nativeKernelSets } from "../src/tensor/native/native-backend.js";
import { ReferenceBackend } from "../src/tensor/reference.js";

const reference = new ReferenceBackend();

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

/** Every element within 1e-5 of the expected tensor's largest magnitude. */
function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (const value of expected) scale = Math.max(scale, Math.abs(value));
  const tolerance = 1e-5 * Math.max(scale, 1e-30);
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= tolerance)) {
      assert.fail(
        `${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (scale ${scale})`,
      );
    }
  }
}

const backends: { label: string; backend: Backend }[] = [];
for (const kernelSet of nativeKernelSets()) {
  for (const threads of [1, 2]) {
    backends.push({
      label: `${kernelSet}, ${threads} thread${threads > 1 ? "s" : ""}`,
      backend: new NativeBackend({ threads, kernelSet }),
    });
  }
}

test("the CPU's fastest kernel set comes first and the portable one is always there", () => {
  const sets = nativeKernelSets();
  assert.equal(sets.at(-1), "generic");
  assert.equal(new NativeBackend({ threads: 1 }).kernelSet, sets[0]);
});

for (const { label, backend } of backends) {
  describe(`native backend (${label})`, () => {
    test("alloc returns zero-filled, 64-byte aligned arrays", () => {
      const a = backend.alloc(1000);
      assert.equal(a.length, 1000);
      assert.ok(a.every((x) => x === 0));
      // Allocations of any length must not overlap or break alignment of the next one.
      assert.equal(backend.alloc(1).length, 1);
    });

    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [3, 17, 5],
      [17, 3, 64],
      [64, 64, 64],
      [127, 33, 129],
      [13, 768, 96],
      [130, 40, 300],
      [1, 3072, 17],
      [200, 129, 513],
    ];
    for (const [m, n, k] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          test(`matmul ${m}x${n}x${k} transA=${transA} transB=${transB}`, () => {
            const a = random(m * k, m + 2 * k);
            const b = random(k * n, n + 3 * k);
            const bias = random(n, 7);
            const start = random(m * n, 11);
            for (const options of [
              { transA, transB },
              { transA, transB, bias },
              { transA, transB, accumulate: true },
              { transA, transB, accumulate: true, bias },
            ]) {
              const expected = start.slice();
              const actual = start.slice();
              reference.matmul(a, b, expected, m, n, k, options);
              backend.matmul(a, b, actual, m, n, k, options);
              assertClose(actual, expected, `matmul ${JSON.stringify(Object.keys(options))}`);
            }
          });
        }
      }
    }

    test("matmul on DistilBERT shapes", () => {
      for (const [m, n, k] of [
        [128, 3072, 768],
        [128, 768, 3072],
      ]) {
        const a = random(m * k, 1);
        const b = random(n * k, 2);
        const bias = random(n, 3);
        const expected = new Float32Array(m * n);
        const actual = backend.alloc(m * n);
        reference.matmul(a, b, expected, m, n, k, { transB: true, bias });
        backend.matmul(a, b, actual, m, n, k, { transB: true, bias });
        assertClose(actual, expected, `matmul ${m}x${n}x${k}`);
      }
    });

    test("matmul works on subarrays and SharedArrayBuffers in place", () => {
      const [m, n, k] = [5, 7, 9];
      const shared = new Float32Array(new SharedArrayBuffer(4 * (3 + m * k)));
      shared.set(random(m * k, 4), 3);
      const a = shared.subarray(3);
      const b = random(k * n, 5);
      const expected = new Float32Array(m * n);
      reference.matmul(a, b, expected, m, n, k);
      const big = new Float32Array(1 + m * n);
      backend.matmul(a, b, big.subarray(1), m, n, k);
      assertClose(big.subarray(1), expected, "matmul on views");
      assert.equal(big[0], 0);
    });

    const attentionShapes: [number, number, number, number][] = [
      [1, 1, 1, 1],
      [2, 3, 2, 5],
      [1, 17, 3, 64],
      [2, 33, 2, 16],
      [1, 128, 2, 64],
    ];
    for (const [batch, seq, heads, headDim] of attentionShapes) {
      for (const dropout of [false, true]) {
        test(`attention ${batch}x${seq} heads=${heads} headDim=${headDim} dropout=${dropout}`, () => {
          const hidden = heads * headDim;
          const size = batch * seq * hidden;
          const q = random(size, 1);
          const k = random(size, 2);
          const v = random(size, 3);
          const keyMask = new Float32Array(batch * seq).fill(1);
          // Mask the last keys of the first sequence, and every key of the second.
          for (let j = Math.ceil(seq / 2); j < seq; j++) keyMask[j] = 0;
          if (batch > 1) keyMask.fill(0, seq, 2 * seq);
          const probsSize = batch * heads * seq * seq;
          const dropoutMask = dropout
            ? random(probsSize, 4).map((x) => (x > -0.6 ? 1 / 0.8 : 0))
            : undefined;
          const run = (b: Backend) => {
            const probs = new Float32Array(probsSize);
            const out = new Float32Array(size);
            b.attentionForward(
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
            const dOut = random(size, 5);
            const dq = new Float32Array(size).fill(9);
            const dk = new Float32Array(size).fill(9);
            const dv = new Float32Array(size).fill(9);
            b.attentionBackward(
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
          };
          const expected = run(reference);
          const actual = run(backend);
          for (const key of ["probs", "out", "dq", "dk", "dv"] as const) {
            assertClose(actual[key], expected[key], key);
          }
        });
      }
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
        const run = (b: Backend) => {
          const out = new Float32Array(rows * dim);
          const mean = new Float32Array(rows);
          const rstd = new Float32Array(rows);
          b.layerNormForward(x, gamma, beta, out, mean, rstd, rows, dim, 1e-12);
          const dx = new Float32Array(rows * dim);
          const dGamma = random(dim, 5);
          const dBeta = random(dim, 6);
          b.layerNormBackward(dOut, x, gamma, mean, rstd, dx, dGamma, dBeta, rows, dim);
          return { out, mean, rstd, dx, dGamma, dBeta };
        };
        const expected = run(reference);
        const actual = run(backend);
        for (const key of ["out", "mean", "rstd", "dx", "dGamma", "dBeta"] as const) {
          assertClose(actual[key], expected[key], key);
        }
      });
    }

    for (const kind of ["gelu", "relu", "silu", "gelu_new"] as Activation[]) {
      for (const n of [1, 17, 4099, 100003]) {
        test(`${kind} forward and backward, n=${n}, in place`, () => {
          const x = random(n, n).map((value) => value * 6);
          const dOut = random(n, 2);
          const expectedOut = new Float32Array(n);
          const expectedDx = new Float32Array(n);
          reference.activationForward(kind, x, expectedOut, n);
          reference.activationBackward(kind, x, dOut, expectedDx, n);
          const out = x.slice();
          backend.activationForward(kind, out, out, n);
          const dx = dOut.slice();
          backend.activationBackward(kind, x, dx, dx, n);
          assertClose(out, expectedOut, "forward");
          assertClose(dx, expectedDx, "backward");
        });
      }
    }

    for (const [rows, cols] of [
      [1, 1],
      [3, 17],
      [129, 768],
      [1024, 3],
    ]) {
      test(`sumRows ${rows}x${cols}`, () => {
        const x = random(rows * cols, 1);
        for (const accumulate of [false, true]) {
          const expected = random(cols, 2);
          const actual = expected.slice();
          reference.sumRows(x, expected, rows, cols, accumulate);
          backend.sumRows(x, actual, rows, cols, accumulate);
          assertClose(actual, expected, `accumulate=${accumulate}`);
        }
      });
    }

    test("sumOfSquares", () => {
      for (const n of [0, 1, 17, 100003]) {
        const x = random(n + 5, n);
        const expected = reference.sumOfSquares(x, n);
        const actual = backend.sumOfSquares(x, n);
        assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, expected), `n=${n}`);
      }
    });

    test("adamw", () => {
      for (const n of [1, 17, 100003]) {
        const grad = random(n, 1);
        const run = (b: Backend) => {
          const param = random(n, 2);
          const m = random(n, 3).map((value) => value * 0.1);
          const v = random(n, 4).map((value) => value * value * 0.01);
          for (let step = 1; step <= 3; step++) {
            b.adamw(param, grad, m, v, n, {
              lr: 1e-3,
              beta1: 0.9,
              beta2: 0.999,
              eps: 1e-8,
              weightDecay: 0.01,
              step,
            });
          }
          return { param, m, v };
        };
        const expected = run(reference);
        const actual = run(backend);
        for (const key of ["param", "m", "v"] as const)
          assertClose(actual[key], expected[key], key);
      }
    });
  });
}

test("a too-short array is an error, not a memory overwrite", () => {
  const backend = new NativeBackend({ threads: 1 });
  assert.throws(
    () => backend.matmul(new Float32Array(6), new Float32Array(6), new Float32Array(3), 2, 2, 3),
    /c has 3 elements but needs 4/,
  );
  assert.throws(
    () =>
      backend.matmul(
        new Float64Array(6) as unknown as Float32Array,
        new Float32Array(6),
        new Float32Array(4),
        2,
        2,
        3,
      ),
    /a must be a Float32Array/,
  );
});
