// The human summary of `npm run bench`: markdown tables of the medians and of the ratios ours /
// baseline (throughput, so > 1 means ours is faster), ready to paste into an issue or the README.

import type { Measurement } from "./measurement.js";

export interface RunContext {
  date: string;
  cpu: string;
  node: string;
  rounds: number;
  runs: number;
  trainingRuns: number;
  loadBefore: number;
  loadAfter: number;
  skipped: string[];
}

const OURS = ["distilbert-ts-native", "distilbert-ts-wasm"];
const BASELINES = ["onnxruntime-node", "onnxruntime-web-wasm", "pytorch-openblas"];
const OURS_INT8 = ["distilbert-ts-native-int8", "distilbert-ts-wasm-int8"];
const BASELINES_INT8 = ["onnxruntime-node-int8", "onnxruntime-web-wasm-int8", "transformers.js-q8"];
const SHORT: Record<string, string> = {
  "distilbert-ts-native": "native",
  "distilbert-ts-wasm": "wasm",
  "onnxruntime-node": "ort-node",
  "onnxruntime-web-wasm": "ort-web",
  "pytorch-openblas": "PyTorch",
  "transformers.js-fp32": "transformers.js",
  "distilbert-ts-native-int8": "native int8",
  "distilbert-ts-wasm-int8": "wasm int8",
  "onnxruntime-node-int8": "ort-node int8",
  "onnxruntime-web-wasm-int8": "ort-web int8",
  "transformers.js-q8": "transformers.js q8",
  "distilbert-ts-wasm-chromium": "wasm in Chromium",
  "onnxruntime-web-chromium": "ort-web in Chromium",
  "distilbert-ts-wasm-chromium-int8": "wasm int8 in Chromium",
  "onnxruntime-web-chromium-int8": "ort-web int8 in Chromium",
};

/** Which series a line belongs to: the runtime, with "-int8" for ours in int8. */
function series(line: Measurement): string {
  return line.dtype === "int8" && line.runtime.startsWith("distilbert-ts")
    ? `${line.runtime}-int8`
    : line.runtime;
}
const NOMINAL_PEAK_GFLOPS = 237;

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ];
}

function ratio(ours: number | undefined, baseline: number | undefined): string {
  return ours && baseline ? `${(ours / baseline).toFixed(2)}x` : "–";
}

function timeCell(line: Measurement | undefined): string {
  return line ? `${line.median_ms} ms (${line.seq_per_s}/s)` : "–";
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function inferenceSection(
  lines: Measurement[],
  title: string,
  ours: string[],
  baselines: string[],
): string[] {
  const inference = lines.filter(
    (l) => l.step === "inference" && [...ours, ...baselines].includes(series(l)),
  );
  if (inference.length === 0) return [];
  const find = (runtime: string, batch: number, seq: number, threads: number) =>
    inference.find(
      (l) => series(l) === runtime && l.batch === batch && l.seq === seq && l.threads === threads,
    );
  const cases = unique(inference.map((l) => `${l.batch}x${l.seq}x${l.threads}`))
    .map((text) => text.split("x").map(Number))
    .sort((a, b) => b[2] - a[2] || a[1] - b[1] || a[0] - b[0]);
  const runtimes = [...ours, ...baselines];
  const times = cases.map(([batch, seq, threads]) => [
    `${batch}x${seq}`,
    String(threads),
    ...runtimes.map((runtime) => timeCell(find(runtime, batch, seq, threads))),
  ]);
  const pairs = ours.flatMap((mine) => baselines.map((baseline) => [mine, baseline]));
  const ratios = cases.map(([batch, seq, threads]) => [
    `${batch}x${seq}`,
    String(threads),
    ...pairs.map(([mine, baseline]) =>
      ratio(
        find(mine, batch, seq, threads)?.seq_per_s,
        find(baseline, batch, seq, threads)?.seq_per_s,
      ),
    ),
  ]);
  return [
    `### Inference: DistilBERT-base, ${title}, full attention mask`,
    "",
    "Median time of one forward pass (sequences per second).",
    "",
    ...table(["shape", "threads", ...runtimes.map((runtime) => SHORT[runtime])], times),
    "",
    "Throughput ratios, ours / baseline (> 1: ours is faster).",
    "",
    ...table(
      [
        "shape",
        "threads",
        ...pairs.map(([mine, baseline]) => `${SHORT[mine]} / ${SHORT[baseline]}`),
      ],
      ratios,
    ),
    "",
  ];
}

function memorySection(lines: Measurement[]): string[] {
  const memory = lines.filter((l) => l.step === "memory");
  if (memory.length === 0) return [];
  const rows = ["float32", "int8"].map((dtype) => {
    const mb = (runtime: string) =>
      memory.find((l) => l.runtime === runtime && l.dtype === dtype)?.peak_rss_mb;
    const mine = mb("distilbert-ts-native");
    const theirs = mb("onnxruntime-node");
    return [dtype, `${mine ?? "–"} MB`, `${theirs ?? "–"} MB`, ratio(mine, theirs)];
  });
  return [
    "### Peak memory: load DistilBERT-base and classify one 16-token input",
    "",
    "Int8: ours from the `distilbert quantize` folder, onnxruntime's from its q8 file.",
    "",
    ...table(["weights", "native", "ort-node", "native / ort-node (< 1: ours is smaller)"], rows),
    "",
  ];
}

function trainingSection(lines: Measurement[]): string[] {
  const training = lines.filter((l) => l.step === "train");
  if (training.length === 0) return [];
  const what: Record<string, string> = {
    "distilbert-base": "DistilBERT-base: forward + backward + AdamW",
    "bert-mini-sotu": "BERT-mini teacher: forward + backward + clip + AdamW",
  };
  const rows = training
    .filter((l) => OURS.includes(l.runtime))
    .sort(
      (a, b) =>
        String(a.model).localeCompare(String(b.model)) || a.runtime.localeCompare(b.runtime),
    )
    .map((ours) => {
      const { model = "", batch = 0, seq = 0, threads } = ours;
      const torch = training.find(
        (l) =>
          l.runtime === "pytorch-openblas" &&
          l.model === model &&
          l.batch === batch &&
          l.seq === seq &&
          l.threads === threads,
      );
      const tokens = (line: Measurement | undefined) =>
        line?.median_ms ? String(Math.round((batch * seq * 1000) / line.median_ms)) : "–";
      return [
        what[model] ?? model,
        `${batch}x${seq}`,
        String(threads),
        `${ours.median_ms} ms (${SHORT[ours.runtime]})`,
        torch ? `${torch.median_ms} ms` : "–",
        tokens(ours),
        tokens(torch),
        ratio(torch?.median_ms, ours.median_ms),
      ];
    });
  return [
    "### Training step",
    "",
    ...table(
      [
        "step",
        "shape",
        "threads",
        "ours",
        "PyTorch",
        "ours tokens/s",
        "PyTorch tokens/s",
        "ours / PyTorch (throughput)",
      ],
      rows,
    ),
    "",
  ];
}

function matmulSection(lines: Measurement[]): string[] {
  const matmul = lines.filter((l) => l.step === "matmul");
  if (matmul.length === 0) return [];
  const shapes = unique(matmul.map((l) => JSON.stringify([l.op, l.m, l.n, l.k])));
  const backends = unique(matmul.map((l) => `${l.runtime}|${l.threads}`));
  const rows = shapes.map((text) => {
    const [op, m, n, k] = JSON.parse(text) as [string, number, number, number];
    const cells = backends.flatMap((backend) => {
      const line = matmul.find(
        (l) =>
          `${l.runtime}|${l.threads}` === backend &&
          l.op === op &&
          l.m === m &&
          l.n === n &&
          l.k === k,
      );
      return line?.gflops
        ? [String(line.gflops), `${Math.round((100 * line.gflops) / NOMINAL_PEAK_GFLOPS)}%`]
        : ["–", "–"];
    });
    return [`${m} rows, ${k}x${n} (${op})`, ...cells];
  });
  const header = backends.flatMap((backend) => {
    const [runtime, threads] = backend.split("|");
    return [`${SHORT[runtime] ?? runtime} ${threads}t GFLOP/s`, "of peak"];
  });
  return [
    "### Matrix multiply alone (DistilBERT-base's Linear layers)",
    "",
    `GFLOP/s and fraction of the two cores' nominal fp32 peak, ${NOMINAL_PEAK_GFLOPS} GFLOP/s ` +
      "(2 x 32 FLOP/cycle x ~3.7 GHz; a single-thread FMA loop measured ~200 GFLOP/s per core, " +
      "so the clock and the real peak may be higher). NT: rows x W^T, the forward product.",
    "",
    ...table(["rows, in x out (op)", ...header], rows),
    "",
  ];
}

function tokenizerSection(lines: Measurement[]): string[] {
  const speeds = lines.filter((l) => l.step === "tokenize");
  if (speeds.length === 0) return [];
  const check = lines.find((l) => l.step === "tokenize-check");
  const speed = (prefix: string, mode: string) =>
    speeds.find((l) => l.runtime.startsWith(prefix) && l.mode === mode)?.tokens_per_s;
  const rows = ["one-at-a-time", "batch"].map((mode) => {
    const ours = speed("distilbert-ts", mode);
    const rust = speed("@anush008", mode);
    // The pure-JS tokenizer has no batch call: its one-at-a-time speed is the anchor for both.
    const js = speed("@huggingface", "one-at-a-time");
    return [mode, String(ours ?? "–"), String(rust ?? "–"), String(js ?? "–")].concat([
      ratio(ours, rust),
      ratio(ours, js),
    ]);
  });
  return [
    "### Tokenizer: tokens per second, single thread",
    "",
    ...(check
      ? [`Ids differing from the Rust tokenizers: ${check.differing} of ${check.lines} lines.`, ""]
      : []),
    ...table(
      [
        "mode",
        "ours",
        "Rust (@anush008/tokenizers)",
        "JS (@huggingface/tokenizers)",
        "ours / Rust",
        "ours / JS",
      ],
      rows,
    ),
    "",
  ];
}

/** Markdown of the aggregated measurements (and the tokenizer's single run). */
export function summarise(lines: Measurement[], context: RunContext): string {
  return [
    "## Benchmark results",
    "",
    `${context.date}; ${context.cpu}; Node ${context.node}; medians of ${context.rounds} ` +
      `round(s) of ${context.runs} timed runs per shape (${context.trainingRuns} training steps); ` +
      "1-minute load average " +
      `${context.loadBefore.toFixed(1)} before, ${context.loadAfter.toFixed(1)} after ` +
      "(times on a loaded machine drift: compare ratios).",
    "",
    ...inferenceSection(lines, "fp32", OURS, [...BASELINES, "transformers.js-fp32"]),
    ...inferenceSection(lines, "int8", OURS_INT8, BASELINES_INT8),
    ...inferenceSection(
      lines,
      "in headless Chromium (the browser's engine, with relaxed SIMD), fp32",
      ["distilbert-ts-wasm-chromium"],
      ["onnxruntime-web-chromium"],
    ),
    ...inferenceSection(
      lines,
      "in headless Chromium (the browser's engine, with relaxed SIMD), int8",
      ["distilbert-ts-wasm-chromium-int8"],
      ["onnxruntime-web-chromium-int8"],
    ),
    ...memorySection(lines),
    ...trainingSection(lines),
    ...matmulSection(lines),
    ...tokenizerSection(lines),
    ...(context.skipped.length > 0
      ? ["Skipped:", "", ...context.skipped.map((reason) => `- ${reason}`), ""]
      : []),
  ].join("\n");
}
