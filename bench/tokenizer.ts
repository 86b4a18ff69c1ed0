// Tokens per second of our tokenizer against Hugging Face's Rust tokenizers (through the npm
// binding @anush008/tokenizers) and the pure-JS @huggingface/tokenizers, in one process run, on the
// same tokenizer.json and corpus, single thread. One JSON line per measurement, then the ratios.
//   node dist/bench/tokenizer.js [--lines N] [--runs R] [--batch B]

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Tokenizer } from "../src/tokenizer/index.js";

// The Rust binding batches on a thread pool: pin everything to one thread before it loads.
process.env.RAYON_NUM_THREADS = "1";
process.env.TOKENIZERS_PARALLELISM = "false";
process.env.UV_THREADPOOL_SIZE = "1";

const { values } = parseArgs({
  options: {
    lines: { type: "string" },
    runs: { type: "string", default: "3" },
    batch: { type: "string", default: "32" },
    model: { type: "string", default: "models/bert-mini-sotu" },
    corpus: { type: "string", default: "data/corpus.train.txt" },
  },
});

const runs = Number(values.runs);
const batchSize = Number(values.batch);
let lines = readFileSync(values.corpus, "utf8")
  .split("\n")
  .filter((line) => line.length > 0);
if (values.lines) lines = lines.slice(0, Number(values.lines));
const tokenizerJsonPath = `${values.model}/tokenizer.json`;
const tokenizerJson = JSON.parse(readFileSync(tokenizerJsonPath, "utf8"));
const tokenizerConfig = JSON.parse(readFileSync(`${values.model}/tokenizer_config.json`, "utf8"));

const rust = (await import("@anush008/tokenizers")).Tokenizer.fromFile(tokenizerJsonPath);
const { Tokenizer: JsTokenizer } = await import("@huggingface/tokenizers");
const pureJs = new JsTokenizer(tokenizerJson, tokenizerConfig);
const ours = Tokenizer.fromJSON(tokenizerJson, tokenizerConfig);

function batches(): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < lines.length; i += batchSize) out.push(lines.slice(i, i + batchSize));
  return out;
}

interface Measurement {
  tokenizer: string;
  mode: string;
  tokensPerSecond: number;
}

/** Best of `runs` passes over the corpus (after one warm-up pass); the count of ids produced. */
async function measure(
  tokenizer: string,
  mode: string,
  pass: () => Promise<number> | number,
): Promise<Measurement> {
  let tokens = await pass();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    tokens = await pass();
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  const tokensPerSecond = tokens / best;
  console.log(
    JSON.stringify({
      runtime: tokenizer,
      step: "tokenize",
      mode,
      lines: lines.length,
      tokens,
      seconds: Number(best.toFixed(3)),
      tokens_per_s: Math.round(tokensPerSecond),
    }),
  );
  return { tokenizer, mode, tokensPerSecond };
}

// Agreement first: the speed of a tokenizer that disagrees would mean nothing.
let differing = 0;
for (const line of lines.slice(0, 2000)) {
  const expected = (await rust.encode(line)).getIds();
  if (JSON.stringify(ours.encode(line).ids) !== JSON.stringify(expected)) differing++;
}
console.log(
  JSON.stringify({
    step: "tokenize-check",
    check: "ids equal to the Rust tokenizers",
    lines: Math.min(2000, lines.length),
    differing,
  }),
);

const results: Measurement[] = [];
results.push(
  await measure("distilbert-ts", "one-at-a-time", () => {
    let n = 0;
    for (const line of lines) n += ours.encode(line).ids.length;
    return n;
  }),
);
results.push(
  await measure("distilbert-ts", "batch", () => {
    let n = 0;
    for (const batch of batches())
      for (const encoding of ours.encodeBatch(batch)) n += encoding.ids.length;
    return n;
  }),
);
results.push(
  await measure("@anush008/tokenizers (Rust)", "one-at-a-time", async () => {
    let n = 0;
    for (const line of lines) n += (await rust.encode(line)).getIds().length;
    return n;
  }),
);
results.push(
  await measure("@anush008/tokenizers (Rust)", "batch", async () => {
    let n = 0;
    for (const batch of batches())
      for (const encoding of await rust.encodeBatch(batch)) n += encoding.getIds().length;
    return n;
  }),
);
results.push(
  await measure("@huggingface/tokenizers (JS)", "one-at-a-time", () => {
    let n = 0;
    for (const line of lines) n += pureJs.encode(line).ids.length;
    return n;
  }),
);

const speed = (tokenizer: string, mode: string) =>
  results.find((r) => r.tokenizer.startsWith(tokenizer) && r.mode === mode)?.tokensPerSecond ??
  Number.NaN;
for (const mode of ["one-at-a-time", "batch"]) {
  const ourSpeed = speed("distilbert-ts", mode);
  console.log(
    JSON.stringify({
      step: "tokenize-ratio",
      mode,
      vs_rust_tokenizers: Number((ourSpeed / speed("@anush008", mode)).toFixed(2)),
      vs_huggingface_js: Number((ourSpeed / speed("@huggingface", "one-at-a-time")).toFixed(2)),
    }),
  );
}
