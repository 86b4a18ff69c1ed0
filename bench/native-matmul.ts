// GFLOP/s (GOP/s with --int8) of the native backend's matrix multiply alone on DistilBERT's
// shapes, against the two cores' fp32 peak (237 GFLOP/s here). Prints one JSON line per shape.
//
//   node dist/bench/native-matmul.js [--threads 2] [--kernel-set avx512] [--rows 128,512,1024]
//     [--int8]

import { parseArgs } from "node:util";
import { quantizeRows } from "../src/tensor/int8.js";
import { NativeBackend } from "../src/tensor/native/native-backend.js";

const { values } = parseArgs({
  options: {
    threads: { type: "string", default: "2" },
    "kernel-set": { type: "string" },
    rows: { type: "string", default: "128,512,1024" },
    seconds: { type: "string", default: "0.5" },
    int8: { type: "boolean", default: false },
  },
});

const backend = new NativeBackend({
  threads: Number(values.threads),
  kernelSet: values["kernel-set"],
});
const seconds = Number(values.seconds);

// [n, k] of each Linear layer, as the model calls it: out[rows, n] = x[rows, k] W[n, k]^T + b.
const layers: [string, number, number][] = [
  ["768x768", 768, 768],
  ["768x3072", 3072, 768],
  ["3072x768", 768, 3072],
];

function fill(array: Float32Array): Float32Array {
  for (let i = 0; i < array.length; i++) array[i] = Math.sin(i) * 0.5;
  return array;
}

for (const rows of values.rows.split(",").map(Number)) {
  for (const [label, n, k] of layers) {
    const x = fill(backend.alloc(rows * k));
    const w = fill(backend.alloc(n * k));
    const bias = fill(backend.alloc(n));
    const out = backend.alloc(rows * n);
    const int8 = values.int8 ? quantizeRows(w, n, k) : undefined;
    const run = int8
      ? () => backend.matmulInt8(x, int8, out, rows, { bias })
      : () => backend.matmul(x, w, out, rows, n, k, { transB: true, bias });
    for (let i = 0; i < 3; i++) run();
    const times: number[] = [];
    const deadline = performance.now() + seconds * 1000;
    while (performance.now() < deadline || times.length < 5) {
      const start = performance.now();
      run();
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const median = times[times.length >> 1];
    const gflops = (2 * rows * n * k) / (median * 1e6);
    console.log(
      JSON.stringify({
        kernel: backend.kernelSet,
        dtype: values.int8 ? "int8" : "float32",
        threads: backend.threads,
        shape: `${rows}x${label}`,
        median_ms: Number(median.toFixed(3)),
        gflops: Number(gflops.toFixed(1)),
        peak_fraction: Number((gflops / 237).toFixed(3)),
      }),
    );
  }
}
