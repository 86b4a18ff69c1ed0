// The int8 product's awkward shapes and their inputs, shared by the Node test (int8.test.ts) and
// the browser's (browser-worker.ts, which runs them on each WebAssembly kernel set there).

import type { Backend } from "../src/tensor/backend.js";
import { type Int8Matrix, quantizeRows } from "../src/tensor/int8.js";

export interface ProductCase {
  m: number;
  n: number;
  k: number;
  bias: boolean;
  residual: boolean;
}

// Edges of every tile size (wasm 4 x 8, AVX2 6 x 16, portable 4 x 16), depths not a multiple of
// 4, one row or column, and shapes past the row blocks.
export const PRODUCT_CASES: ProductCase[] = [
  { m: 1, n: 1, k: 1, bias: false, residual: false },
  { m: 3, n: 5, k: 7, bias: true, residual: false },
  { m: 7, n: 17, k: 33, bias: true, residual: true },
  { m: 6, n: 16, k: 4, bias: false, residual: true },
  { m: 13, n: 50, k: 130, bias: true, residual: true },
  { m: 1, n: 300, k: 96, bias: true, residual: false },
  { m: 97, n: 9, k: 771, bias: true, residual: true },
];

// Deterministic pseudo-random values in [-scale, scale).
export function random(length: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(length);
  let state = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 2 ** 31 - 1) * scale;
  }
  return out;
}

export interface ProductInputs {
  a: Float32Array;
  w: Int8Matrix;
  bias?: Float32Array;
  residual?: Float32Array;
}

export function productInputs(c: ProductCase): ProductInputs {
  const a = random(c.m * c.k, c.m + c.k, 3);
  // Rows the quantization treats specially: all zero, all negative, all positive.
  if (c.m > 2) {
    a.fill(0, 0, c.k);
    for (let p = 0; p < c.k; p++) {
      a[c.k + p] = -Math.abs(a[c.k + p]) - 0.1;
      a[2 * c.k + p] = Math.abs(a[2 * c.k + p]) + 5;
    }
  }
  return {
    a,
    w: quantizeRows(random(c.n * c.k, c.n + 2 * c.k), c.n, c.k),
    bias: c.bias ? random(c.n, 7) : undefined,
    residual: c.residual ? random(c.m * c.n, 8) : undefined,
  };
}

export function product(backend: Backend, c: ProductCase, inputs: ProductInputs): Float32Array {
  const out = new Float32Array(c.m * c.n);
  backend.matmulInt8(inputs.a, inputs.w, out, c.m, {
    bias: inputs.bias,
    residual: inputs.residual,
  });
  return out;
}
