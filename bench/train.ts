// Training throughput of the embedded teacher (BERT-mini, sequence classification): tokens per
// second for forward + backward + clipping + AdamW at batch x seq (default 32x128), in the same
// JSON-lines form as the other benchmarks. bench/train_torch.py times PyTorch's step of the same
// shape; run both in one session (the machine is shared: compare ratios, not absolute times).
//
//   node dist/bench/train.js [--backend auto] [--threads 2] [--shape 32x128] [--runs 5]

import { parseArgs } from "node:util";
import { loadModel } from "../src/models/index.js";
import { type BackendChoice, createBackend } from "../src/tensor/index.js";
import { AdamW, clipGradNorm } from "../src/train/optimizer.js";

const TEACHER = "models/bert-mini-sotu";

const { values } = parseArgs({
  options: {
    backend: { type: "string", default: "auto" },
    threads: { type: "string", default: "2" },
    shape: { type: "string", default: "32x128" },
    runs: { type: "string", default: "5" },
  },
});
const [batch, seq] = (values.shape as string).split("x").map(Number);
const threads = Number(values.threads);
const backend = await createBackend(values.backend as BackendChoice, { threads });
if (values.backend !== "auto" && backend.name !== values.backend) {
  console.error(`${values.backend} backend not available (got ${backend.name})`);
  process.exit(1);
}
const model = loadModel(TEACHER, { backend, head: "sequence-classification" });
model.enableGradients();
const optimizer = new AdamW(backend, model.parameters, { weightDecay: 0.01 });

let state = 12345;
const inputIds = Int32Array.from({ length: batch * seq }, () => {
  state = (state * 1103515245 + 12345) % 2147483648;
  return 1000 + (state % 29000);
});
const labels = Int32Array.from({ length: batch }, (_, i) => i % 2);

function step(): void {
  model.zeroGradients();
  model.forward({ inputIds, batch, seq }, { labels }, { train: true, dropoutSeed: 1 });
  model.backward();
  clipGradNorm(backend, model.parameters, 1);
  optimizer.update(1e-4);
}

step();
const times: number[] = [];
for (let i = 0; i < Number(values.runs); i++) {
  const start = performance.now();
  step();
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(
  JSON.stringify({
    runtime: `distilbert-ts-${backend.name}`,
    step: "train",
    model: "bert-mini-sotu",
    batch,
    seq,
    threads: backend.threads,
    runs: times.length,
    median_ms: Number(median.toFixed(2)),
    min_ms: Number(times[0].toFixed(2)),
    seq_per_s: Number(((batch * 1000) / median).toFixed(2)),
    tokens_per_s: Math.round((batch * seq * 1000) / median),
  }),
);
