// DistilBERT-base inference timed in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core), as a web page runs it: our browser bundle on its WebAssembly backend, or
// onnxruntime-web, in a module worker of a cross-origin-isolated page served on loopback.
// Chromium's engine has relaxed SIMD, which Node 20's has only behind a flag, so this is where our
// relaxed-SIMD kernels run (src/tensor/wasm/assembly/int8.ts). One JSON line per shape, as
// ../shared/bench/ort-web.mjs prints in Node:
//
//   node dist/bench/browser.js --runtime distilbert-ts --model DIR [--shapes 1x128,8x128]
//     [--threads 2] [--runs N]
//   node dist/bench/browser.js --runtime onnxruntime-web --model DIR --ort DIR [--int8] [...]
//
// distilbert-ts loads the model folder DIR (an int8 folder runs in int8); onnxruntime-web loads
// DIR/model.onnx, or DIR/model_q8.onnx with --int8, with its own files from --ort (its package's
// dist folder).

import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
const BUNDLE = join(import.meta.dirname, "..", "browser", "distilbert.js");
const VOCAB = 30522;

const { values } = parseArgs({
  options: {
    runtime: { type: "string" },
    model: { type: "string" },
    ort: { type: "string" },
    int8: { type: "boolean", default: false },
    shapes: { type: "string", default: "1x128,8x128" },
    threads: { type: "string", default: "2" },
    runs: { type: "string" },
  },
});
const runtime = values.runtime;
if ((runtime !== "distilbert-ts" && runtime !== "onnxruntime-web") || !values.model) {
  console.error(
    "usage: browser.js --runtime distilbert-ts|onnxruntime-web --model DIR [--ort DIR]",
  );
  process.exit(1);
}
if (runtime === "onnxruntime-web" && !values.ort) {
  console.error(
    "--ort DIR (onnxruntime-web's dist folder) is needed with --runtime onnxruntime-web",
  );
  process.exit(1);
}
const needed: [string, string][] = [
  [CHROMIUM, "Chromium (apt-get install chromium)"],
  [values.model, "the model folder"],
];
if (runtime === "distilbert-ts") needed.push([BUNDLE, "the browser bundle (npm run build)"]);
if (values.ort) needed.push([join(values.ort, "ort.min.mjs"), "onnxruntime-web's ort.min.mjs"]);
for (const [path, what] of needed) {
  if (!existsSync(path)) {
    console.error(`${path} not found: ${what}`);
    process.exit(1);
  }
}

interface Job {
  shapes: [number, number][];
  threads: number;
  /** Timed runs a shape; 0: enough for about 40 sequences, at least 5. */
  runs: number;
  vocab: number;
  onnx: string;
}

interface Timing {
  batch: number;
  seq: number;
  times: number[];
}

interface Done {
  timings?: Timing[];
  dtype?: string;
  kernelSet?: string;
  error?: string;
}

// The worker: what each runtime runs, then the shared timing loop (2 warm-up passes, median).
const TIMING = `
const runsFor = (job, batch) => job.runs || Math.max(5, Math.ceil(40 / batch));
let seed = 1;
const randomId = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return 1 + Math.floor((seed / 2147483648) * (job.vocab - 1)); };
let job;
async function timeShapes(forward) {
  const timings = [];
  for (const [batch, seq] of job.shapes) {
    const ids = Array.from({ length: batch * seq }, randomId);
    const run = await forward(batch, seq, ids);
    for (let i = 0; i < 2; i++) await run();
    const times = [];
    for (let i = 0; i < runsFor(job, batch); i++) {
      const start = performance.now();
      await run();
      times.push(performance.now() - start);
    }
    timings.push({ batch, seq, times });
  }
  return timings;
}
onmessage = (event) => {
  job = event.data;
  main().then((done) => postMessage(done), (error) => postMessage({ error: String(error.stack ?? error) }));
};
`;

const OURS_WORKER = `import { loadModelFrom, WasmBackend } from "/lib/distilbert.js";
${TIMING}
async function main() {
  const backend = await WasmBackend.create({ threads: job.threads });
  const model = await loadModelFrom("/model", { backend });
  job.vocab = model.config.vocabSize;
  const timings = await timeShapes(async (batch, seq, ids) => {
    const inputs = { inputIds: Int32Array.from(ids), attentionMask: new Float32Array(batch * seq).fill(1), batch, seq };
    return async () => model.forward(inputs);
  });
  return { timings, dtype: model.dtype, kernelSet: backend.kernelSet };
}
`;

const ORT_WORKER = `import * as ort from "/ort/ort.min.mjs";
${TIMING}
async function main() {
  ort.env.wasm.numThreads = job.threads;
  ort.env.wasm.wasmPaths = "/ort/";
  const session = await ort.InferenceSession.create("/model/" + job.onnx, {
    executionProviders: ["wasm"], intraOpNumThreads: job.threads, interOpNumThreads: 1,
    graphOptimizationLevel: "all", executionMode: "sequential" });
  const timings = await timeShapes(async (batch, seq, ids) => {
    const feeds = {
      input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [batch, seq]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(batch * seq).fill(1n), [batch, seq]),
    };
    return () => session.run(feeds);
  });
  return { timings };
}
`;

const PAGE = `<!doctype html>
<meta charset="utf-8">
<script type="module">
  const worker = new Worker("/worker.js", { type: "module" });
  worker.onmessage = (event) => { window.done = event.data; };
  worker.onerror = (event) => { window.done = { error: String(event.message) }; };
  window.start = (job) => worker.postMessage(job);
</script>`;

/** A file of `folder` named by the rest of the URL after `prefix`, never outside the folder. */
function fileUnder(url: string, prefix: string, folder: string): string | undefined {
  if (!url.startsWith(prefix)) return undefined;
  const path = normalize(join(folder, decodeURIComponent(url.slice(prefix.length))));
  if (!path.startsWith(normalize(folder)) || !existsSync(path) || !statSync(path).isFile()) {
    return undefined;
  }
  return path;
}

function serve(worker: string, model: string, ort: string | undefined): Promise<Server> {
  const headers = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
  };
  const server = createServer((request, response) => {
    const url = (request.url ?? "/").split("?")[0];
    const file =
      (url === "/lib/distilbert.js" ? BUNDLE : undefined) ??
      fileUnder(url, "/model/", model) ??
      (ort ? fileUnder(url, "/ort/", ort) : undefined);
    if (url === "/") {
      response.writeHead(200, { ...headers, "Content-Type": "text/html" }).end(PAGE);
    } else if (url === "/worker.js") {
      response.writeHead(200, { ...headers, "Content-Type": "text/javascript" }).end(worker);
    } else if (file) {
      const type = /\.m?js$/.test(file)
        ? "text/javascript"
        : file.endsWith(".wasm")
          ? "application/wasm"
          : "application/octet-stream";
      response.writeHead(200, { ...headers, "Content-Type": type });
      createReadStream(file).pipe(response);
    } else {
      response.writeHead(404, headers).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function median(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const threads = Number(values.threads);
const job: Job = {
  shapes: values.shapes.split(",").map((shape) => shape.split("x").map(Number) as [number, number]),
  threads,
  runs: Number(values.runs ?? 0),
  vocab: VOCAB,
  onnx: values.int8 ? "model_q8.onnx" : "model.onnx",
};
const ours = runtime === "distilbert-ts";
const server = await serve(ours ? OURS_WORKER : ORT_WORKER, values.model, values.ort);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
let done: Done;
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.waitForFunction(() => "start" in window);
  await page.evaluate(
    (message) => (window as unknown as { start: (j: Job) => void }).start(message),
    job,
  );
  const handle = await page.waitForFunction(() => (window as { done?: unknown }).done, null, {
    timeout: 10 * 60 * 1000,
    polling: 100,
  });
  done = (await handle.jsonValue()) as Done;
} finally {
  await browser.close();
  server.close();
}
if (done.error || !done.timings) {
  console.error(`in Chromium: ${done.error}`);
  process.exit(1);
}
for (const { batch, seq, times } of done.timings) {
  const ms = median(times);
  const line = ours
    ? { runtime: "distilbert-ts-wasm-chromium", dtype: done.dtype, kernel_set: done.kernelSet }
    : { runtime: `onnxruntime-web-chromium${values.int8 ? "-int8" : ""}` };
  console.log(
    JSON.stringify({
      ...line,
      step: "inference",
      batch,
      seq,
      threads,
      runs: times.length,
      median_ms: Number(ms.toFixed(2)),
      min_ms: Number(Math.min(...times).toFixed(2)),
      seq_per_s: Number(((batch * 1000) / ms).toFixed(2)),
    }),
  );
}
