// Every kernel of the fast backends against the reference on random inputs of awkward shapes,
// within 1e-5 of the largest expected magnitude, at 1 and 2 threads.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Activation, Backend, MatmulOptions } from "../src/tensor/backend.js";
import { quantizeRows } from "../src/tensor/int8.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { fastBackends } from "./backends.js";

const reference = new ReferenceBackend();
const TOLERANCE = 1e-5;

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomArray(length: number, seed: number, scale = 1): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length }, () => (next() * 2 - 1) * scale);
}

/** A copy in the backend's own memory (or a plain copy when `foreign`). */
function place(backend: Backend, data: Float32Array, foreign = false): Float32Array {
  const out = foreign ? new Float32Array(data.length) : backend.alloc(data.length);
  out.set(data);
  return out;
}

function assertClose(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let max = 0;
  for (const w of want) max = Math.max(max, Math.abs(w));
  let worst = 0;
  let at = 0;
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs(got[i] - want[i]);
    if (!(diff <= worst)) {
      worst = diff;
      at = i;
    }
  }
  assert.ok(
    worst <= TOLERANCE * max,
    `${what}: |diff| ${worst} at ${at} (got ${got[at]}, want ${want[at]}) > ${TOLERANCE} x ${max}`,
  );
}

const matmulShapes: [number, number, number][] = [
  [1, 1, 1],
  [3, 17, 5],
  [17, 3, 64],
  [64, 127, 17],
  [127, 64, 300],
  [5, 768, 33],
  [130, 40, 768],
  [33, 3072, 9],
];

test("matmul NN/NT/TN with bias and accumulate matches the reference", async () => {
  const backends = await fastBackends();
  let seed = 1;
  for (const [m, n, k] of matmulShapes) {
    for (const [transA, transB] of [
      [false, false],
      [false, true],
      [true, false],
    ]) {
      for (const [accumulate, withBias] of [
        [false, false],
        [false, true],
        [true, true],
      ]) {
        const a = randomArray(m * k, seed++);
        const b = randomArray(k * n, seed++);
        const c0 = randomArray(m * n, seed++);
        const bias = randomArray(n, seed++);
        const want = Float32Array.from(c0);
        const options: MatmulOptions = { transA, transB, accumulate };
        reference.matmul(a, b, want, m, n, k, withBias ? { ...options, bias } : options);
        for (const { label, backend } of backends) {
          for (const foreign of [false, true]) {
            const c = place(backend, c0, foreign);
            const biasHere = withBias ? { bias: place(backend, bias, foreign) } : {};
            const args = [place(backend, a, foreign), place(backend, b, foreign)] as const;
            backend.matmul(args[0], args[1], c, m, n, k, { ...options, ...biasHere });
            const what = `${label} matmul ${m}x${n}x${k} transA=${transA} transB=${transB} accumulate=${accumulate} bias=${withBias} foreign=${foreign}`;
            assertClose(c, want, what);
          }
        }
      }
    }
  }
});

test("matmul at a DistilBERT layer's shape matches the reference", async () => {
  const [m, n, k] = [64, 768, 768];
  const a = randomArray(m * k, 11);
  const b = randomArray(n * k, 12);
  const bias = randomArray(n, 13);
  const want = new Float32Array(m * n);
  reference.matmul(a, b, want, m, n, k, { transB: true, bias });
  for (const { label, backend } of await fastBackends()) {
    const c = backend.alloc(m * n);
    const options = { transB: true, bias: place(backend, bias) };
    backend.matmul(place(backend, a), place(backend, b), c, m, n, k, options);
    assertClose(c, want, `${label} matmul ${m}x${n}x${k}`);
  }
});

test("matmul with a residual, weights packed or not, matches the reference", async () => {
  for (const [m, n, k] of [
    [5, 7, 3],
    [130, 200, 70],
    [37, 50, 1700],
    [300, 50, 1000],
    [64, 768, 768],
  ]) {
    const a = randomArray(m * k, 31);
    const b = randomArray(n * k, 32);
    const bias = randomArray(n, 33);
    const residual = randomArray(m * n, 34);
    for (const withBias of [false, true]) {
      const want = new Float32Array(m * n);
      const options = { transB: true, bias: withBias ? bias : undefined, residual };
      reference.matmul(a, b, want, m, n, k, options);
      for (const { label, backend } of await fastBackends()) {
        for (const constantB of [false, true]) {
          // C's old contents (garbage here) must not matter, even with accumulate.
          const c = place(backend, randomArray(m * n, 35));
          backend.matmul(place(backend, a), place(backend, b), c, m, n, k, {
            ...options,
            residual: place(backend, residual),
            accumulate: constantB,
            constantB,
          });
          assertClose(
            c,
            want,
            `${label} matmul ${m}x${n}x${k} residual bias=${withBias} constantB=${constantB}`,
          );
        }
      }
    }
  }
});

function keyMask(batch: number, seq: number): Float32Array {
  // The last sequence is all padding, the others are padded from a point on.
  return Float32Array.from({ length: batch * seq }, (_, i) => {
    const b = Math.floor(i / seq);
    const j = i % seq;
    return b === batch - 1 && batch > 1 ? 0 : j < seq - b * 2 ? 1 : 0;
  });
}

function dropout(length: number, seed: number): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length }, () => (next() < 0.1 ? 0 : 1 / 0.9));
}

const attentionShapes: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [2, 3, 2, 5],
  [3, 17, 3, 8],
  [2, 33, 2, 64],
  [2, 130, 3, 64],
];

test("attention forward and backward match the reference", async () => {
  const backends = await fastBackends();
  let seed = 100;
  for (const [batch, seq, heads, headDim] of attentionShapes) {
    for (const withDropout of [false, true]) {
      const size = batch * seq * heads * headDim;
      const probsSize = batch * heads * seq * seq;
      const q = randomArray(size, seed++, 2);
      const k = randomArray(size, seed++, 2);
      const v = randomArray(size, seed++);
      const dOut = randomArray(size, seed++);
      const mask = keyMask(batch, seq);
      const drop = withDropout ? dropout(probsSize, seed++) : undefined;
      const want = {
        probs: new Float32Array(probsSize),
        out: new Float32Array(size),
        dq: new Float32Array(size),
        dk: new Float32Array(size),
        dv: new Float32Array(size),
      };
      reference.attentionForward(
        q,
        k,
        v,
        mask,
        want.probs,
        want.out,
        batch,
        seq,
        heads,
        headDim,
        drop,
      );
      reference.attentionBackward(
        dOut,
        q,
        k,
        v,
        want.probs,
        want.dq,
        want.dk,
        want.dv,
        batch,
        seq,
        heads,
        headDim,
        drop,
      );
      for (const { label, backend } of backends) {
        const at = <T extends Float32Array>(x: T) => place(backend, x);
        const got = {
          probs: backend.alloc(probsSize),
          out: backend.alloc(size),
          dq: at(randomArray(size, 7)),
          dk: at(randomArray(size, 8)),
          dv: at(randomArray(size, 9)),
        };
        const dropHere = drop && at(drop);
        const [qh, kh, vh] = [at(q), at(k), at(v)];
        backend.attentionForward(
          qh,
          kh,
          vh,
          at(mask),
          got.probs,
          got.out,
          batch,
          seq,
          heads,
          headDim,
          dropHere,
        );
        backend.attentionBackward(
          at(dOut),
          qh,
          kh,
          vh,
          got.probs,
          got.dq,
          got.dk,
          got.dv,
          batch,
          seq,
          heads,
          headDim,
          dropHere,
        );
        const shape = `${batch}x${seq}x${heads}x${headDim} dropout=${withDropout}`;
        for (const key of Object.keys(want) as (keyof typeof want)[]) {
          assertClose(got[key], want[key], `${label} attention ${key} ${shape}`);
        }
      }
    }
  }
});

test("layerNorm forward and backward match the reference", async () => {
  const backends = await fastBackends();
  let seed = 200;
  for (const [rows, dim] of [
    [1, 1],
    [3, 5],
    [17, 64],
    [127, 768],
    [2, 3072],
  ]) {
    const x = randomArray(rows * dim, seed++, 3);
    const gamma = randomArray(dim, seed++);
    const beta = randomArray(dim, seed++);
    const dOut = randomArray(rows * dim, seed++);
    const dGamma0 = randomArray(dim, seed++);
    const dBeta0 = randomArray(dim, seed++);
    const want = {
      out: new Float32Array(rows * dim),
      mean: new Float32Array(rows),
      rstd: new Float32Array(rows),
      dx: new Float32Array(rows * dim),
      dGamma: Float32Array.from(dGamma0),
      dBeta: Float32Array.from(dBeta0),
    };
    reference.layerNormForward(x, gamma, beta, want.out, want.mean, want.rstd, rows, dim, 1e-12);
    reference.layerNormBackward(
      dOut,
      x,
      gamma,
      want.mean,
      want.rstd,
      want.dx,
      want.dGamma,
      want.dBeta,
      rows,
      dim,
    );
    for (const { label, backend } of backends) {
      const got = {
        out: backend.alloc(rows * dim),
        mean: backend.alloc(rows),
        rstd: backend.alloc(rows),
        dx: backend.alloc(rows * dim),
        dGamma: place(backend, dGamma0),
        dBeta: place(backend, dBeta0),
      };
      const xh = place(backend, x);
      const gammaHere = place(backend, gamma);
      backend.layerNormForward(
        xh,
        gammaHere,
        place(backend, beta),
        got.out,
        got.mean,
        got.rstd,
        rows,
        dim,
        1e-12,
      );
      backend.layerNormBackward(
        place(backend, dOut),
        xh,
        gammaHere,
        got.mean,
        got.rstd,
        got.dx,
        got.dGamma,
        got.dBeta,
        rows,
        dim,
      );
      for (const key of Object.keys(want) as (keyof typeof want)[]) {
        assertClose(got[key], want[key], `${label} layerNorm ${key} ${rows}x${dim}`);
      }
    }
  }
});

test("activations forward and backward match the reference", async () => {
  const backends = await fastBackends();
  const kinds: Activation[] = ["gelu", "relu", "silu", "gelu_new"];
  let seed = 300;
  for (const n of [1, 3, 17, 127, 40000]) {
    for (const kind of kinds) {
      const x = randomArray(n, seed++, 6);
      const dOut = randomArray(n, seed++);
      const wantOut = new Float32Array(n);
      const wantDx = new Float32Array(n);
      reference.activationForward(kind, x, wantOut, n);
      reference.activationBackward(kind, x, dOut, wantDx, n);
      for (const { label, backend } of backends) {
        const out = backend.alloc(n);
        const xh = place(backend, x);
        backend.activationForward(kind, xh, out, n);
        assertClose(out, wantOut, `${label} ${kind} forward n=${n}`);
        const dx = place(backend, dOut);
        backend.activationBackward(kind, xh, dx, dx, n);
        assertClose(dx, wantDx, `${label} ${kind} backward in place n=${n}`);
      }
    }
  }
});

test("activations at extreme inputs match the reference", async () => {
  const x = Float32Array.from([-1000, -90, -30, -9, -1e-8, 0, 1e-8, 9, 30, 90, 1000]);
  for (const kind of ["gelu", "relu", "silu", "gelu_new"] as const) {
    const want = new Float32Array(x.length);
    reference.activationForward(kind, x, want, x.length);
    for (const { label, backend } of await fastBackends()) {
      const out = backend.alloc(x.length);
      backend.activationForward(kind, place(backend, x), out, x.length);
      for (let i = 0; i < x.length; i++) {
        const tolerance = TOLERANCE * Math.max(1, Math.abs(want[i]));
        assert.ok(Math.abs(out[i] - want[i]) <= tolerance, `${label} ${kind}(${x[i]}) = ${out[i]}`);
      }
    }
  }
});

test("sumRows, sumOfSquares and adamw match the reference", async () => {
  const backends = await fastBackends();
  let seed = 400;
  for (const [rows, cols] of [
    [1, 1],
    [3, 17],
    [127, 64],
    [64, 3072],
  ]) {
    const x = randomArray(rows * cols, seed++);
    const out0 = randomArray(cols, seed++);
    for (const accumulate of [false, true]) {
      const want = Float32Array.from(out0);
      reference.sumRows(x, want, rows, cols, accumulate);
      for (const { label, backend } of backends) {
        const out = place(backend, out0);
        backend.sumRows(place(backend, x), out, rows, cols, accumulate);
        assertClose(out, want, `${label} sumRows ${rows}x${cols} accumulate=${accumulate}`);
      }
    }
  }
  for (const n of [1, 3, 17, 100003]) {
    const x = randomArray(n, seed++);
    const want = reference.sumOfSquares(x, n);
    for (const { label, backend } of backends) {
      const got = backend.sumOfSquares(place(backend, x), n);
      assert.ok(Math.abs(got - want) <= 1e-9 * want, `${label} sumOfSquares n=${n}`);
    }
  }
  const step = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 3 };
  for (const n of [1, 5, 40001]) {
    const param0 = randomArray(n, seed++);
    const grad = randomArray(n, seed++);
    const m0 = randomArray(n, seed++, 0.1);
    const v0 = randomArray(n, seed++, 0.01).map(Math.abs);
    const want = {
      param: Float32Array.from(param0),
      m: Float32Array.from(m0),
      v: Float32Array.from(v0),
    };
    reference.adamw(want.param, grad, want.m, want.v, n, step);
    for (const { label, backend } of backends) {
      const got = { param: place(backend, param0), m: place(backend, m0), v: place(backend, v0) };
      backend.adamw(got.param, place(backend, grad), got.m, got.v, n, step);
      for (const key of ["param", "m", "v"] as const) {
        assertClose(got[key], want[key], `${label} adamw ${key} n=${n}`);
      }
    }
  }
});

test("logitLosses matches the reference, soft and hard rows, every scale", async () => {
  const backends = await fastBackends();
  let seed = 900;
  for (const vocab of [1, 3, 17, 30522]) {
    const rows = 7;
    // Logits as large as a real model's, so a float32 sum without care would show.
    const student = randomArray(rows * vocab, seed++, 12);
    const teacher = randomArray(rows * vocab, seed++, 12);
    const soft = Uint8Array.from([1, 1, 0, 0, 1, 0, 1]);
    const labels = Int32Array.from([-100, vocab - 1, 0, -100, Math.floor(vocab / 2), -100, 0]);
    for (const scales of [
      { temperature: 2, ceScale: 2.5, mlmScale: 0.7, mseScale: 0 },
      { temperature: 1, ceScale: 0, mlmScale: 0.3, mseScale: 0.2 },
      { temperature: 3.5, ceScale: 1, mlmScale: 0, mseScale: 0.5 },
    ]) {
      const want = { d: new Float32Array(rows * vocab), losses: new Float32Array(3 * rows) };
      reference.logitLosses(
        student,
        teacher,
        soft,
        labels,
        want.d,
        want.losses,
        rows,
        vocab,
        scales,
      );
      assert.equal(want.losses[3 * 3], 0, "a row no term applies to has no loss");
      for (const { label, backend } of backends) {
        const got = {
          d: place(backend, randomArray(rows * vocab, seed++)),
          losses: backend.alloc(21),
        };
        backend.logitLosses(
          place(backend, student),
          place(backend, teacher),
          soft,
          labels,
          got.d,
          got.losses,
          rows,
          vocab,
          scales,
        );
        const what = `${label} logitLosses vocab=${vocab} T=${scales.temperature}`;
        assertClose(got.d, want.d, `${what} dStudent`);
        // Per-row losses relative to their own size (at vocab 1 every KL is a rounding of 0).
        want.losses.forEach((w, i) => {
          const diff = Math.abs(got.losses[i] - w);
          assert.ok(diff <= TOLERANCE * Math.max(1, Math.abs(w)), `${what} loss ${i}: ${diff}`);
        });
      }
    }
  }
});

test("logitLosses refuses a label outside the vocabulary", async () => {
  for (const { label, backend } of await fastBackends()) {
    const scales = { temperature: 2, ceScale: 1, mlmScale: 1, mseScale: 0 };
    const logits = backend.alloc(4);
    assert.throws(
      () =>
        backend.logitLosses(
          logits,
          logits,
          new Uint8Array(1),
          Int32Array.of(4),
          backend.alloc(4),
          backend.alloc(3),
          1,
          4,
          scales,
        ),
      /outside \[0, vocab\)/,
      label,
    );
  }
});

test("embeddingsSum matches the reference, and the reference the float32 sums", async () => {
  const backends = await fastBackends();
  let seed = 900;
  for (const [vocab, positions, rows, dim] of [
    [1, 1, 1, 1],
    [7, 3, 5, 17],
    [50, 40, 33, 768],
  ]) {
    const wordFloat = randomArray(vocab * dim, seed++);
    const position = randomArray(positions * dim, seed++);
    const types = randomArray(2 * dim, seed++);
    const next = random(seed++);
    const ids = Int32Array.from({ length: rows }, () => Math.floor(next() * vocab));
    const positionIds = Int32Array.from({ length: rows }, (_, r) => r % positions);
    const typeIds = Int32Array.from({ length: rows }, () => (next() < 0.5 ? 0 : 1));
    const wordInt8 = quantizeRows(wordFloat, vocab, dim);
    for (const [tableName, word] of [
      ["float32", wordFloat],
      ["int8", wordInt8],
    ] as const) {
      for (const tokenType of [null, { table: types, ids: typeIds }]) {
        const what = `${tableName} ${rows}x${dim}${tokenType ? " with token types" : ""}`;
        const lookup = { word, ids, position, positionIds, tokenType };
        const want = new Float32Array(rows * dim);
        reference.embeddingsSum(lookup, want, rows, dim);
        // The same sums written out, one element at a time, in float32.
        const r = rows - 1;
        const w =
          word instanceof Float32Array
            ? word[ids[r] * dim]
            : Math.fround(word.values[ids[r] * dim] * word.scales[ids[r]]);
        let first = Math.fround(w + position[positionIds[r] * dim]);
        if (tokenType) first = Math.fround(first + types[typeIds[r] * dim]);
        assert.equal(want[r * dim], first, `${what}: reference`);
        for (const { label, backend } of backends) {
          const got = backend.alloc(rows * dim);
          backend.embeddingsSum(lookup, got, rows, dim);
          assertClose(got, want, `${label} ${what}`);
        }
      }
    }
  }
});

test("the native embeddingsSum refuses an id past its table rather than read beyond it", async () => {
  for (const { label, backend } of await fastBackends()) {
    if (!label.startsWith("native")) continue;
    const word = backend.alloc(3 * 4);
    const out = backend.alloc(4);
    const call = (ids: Int32Array, positionIds: Int32Array) =>
      backend.embeddingsSum(
        { word, ids, position: backend.alloc(4), positionIds, tokenType: null },
        out,
        1,
        4,
      );
    assert.throws(() => call(Int32Array.of(3), Int32Array.of(0)), /word has 12 elements/, label);
    assert.throws(() => call(Int32Array.of(-1), Int32Array.of(0)), /negative id/, label);
    assert.throws(() => call(Int32Array.of(0), Int32Array.of(1)), /position has 4/, label);
  }
});
