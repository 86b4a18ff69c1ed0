// Matrix multiply throughput (GFLOP/s) of a backend on DistilBERT-base's layer shapes, and its
// fraction of the two cores' nominal fp32 peak (2 x 32 FLOP/cycle x ~3.7 GHz = 237 GFLOP/s; a
// single-thread FMA loop measured ~200 GFLOP/s per core here, so the clock, and the peak, may be
// higher). One JSON line per shape:
//   node dist/bench/kernels.js [--backend wasm] [--threads N] [--rows 128,1024]
//     [--ops NT,NT-packed,NN,TN]

import { parseArgs } from "node:util";
import { type BackendChoice, createBackend } from "../src/tensor/index.js";

const { values } = parseArgs({
  options: {
    backend: { type: "string", default: "wasm" },
    threads: { type: "string" },
    rows: { type: "string", default: "128,1024" },
    ops: { type: "string", default: "NT,NT-packed,NN,TN" },
  },
});

const backend = await createBackend(values.backend as BackendChoice, {
  threads: values.threads ? Number(values.threads) : undefined,
});
if (values.backend !== "auto" && backend.name !== values.backend) {
  console.error(`${values.backend} backend not available (got ${backend.name})`);
  process.exit(1);
}
const NOMINAL_PEAK_GFLOPS = 237;
const layers: [number, number][] = [
  [768, 768],
  [768, 3072],
  [3072, 768],
];

for (const rows of values.rows.split(",").map(Number)) {
  for (const [inDim, outDim] of layers) {
    for (const op of values.ops.split(",")) {
      // NT: the forward product x W^T (NT-packed: as inference runs it, the weight kept packed
      // between calls); NN: dx = dy W; TN: dW = dy^T x.
      const [m, n, k] =
        op === "NT" || op === "NT-packed"
          ? [rows, outDim, inDim]
          : op === "NN"
            ? [rows, inDim, outDim]
            : [outDim, inDim, rows];
      const a = backend.alloc(m * k).fill(0.5);
      const b = backend.alloc(k * n).fill(0.25);
      const c = backend.alloc(m * n);
      const packed = op === "NT-packed";
      const options = { transA: op === "TN", transB: op === "NT" || packed, constantB: packed };
      const times: number[] = [];
      const flops = 2 * m * n * k;
      const runs = Math.max(3, Math.min(20, Math.round(2e10 / flops)));
      for (let r = 0; r <= runs; r++) {
        const start = performance.now();
        backend.matmul(a, b, c, m, n, k, options);
        if (r > 0) times.push(performance.now() - start);
      }
      times.sort((x, y) => x - y);
      const median = times[Math.floor(times.length / 2)];
      const gflops = flops / median / 1e6;
      console.log(
        JSON.stringify({
          runtime: `distilbert-ts-${backend.name}`,
          step: "matmul",
          threads: backend.threads,
          op,
          m,
          n,
          k,
          median_ms: Number(median.toFixed(3)),
          gflops: Number(gflops.toFixed(1)),
          peak_fraction: Number((gflops / NOMINAL_PEAK_GFLOPS).toFixed(3)),
        }),
      );
    }
  }
}
