// `npm run bench`: the project's backends and the baselines users would otherwise run
// (onnxruntime-node, onnxruntime-web's WebAssembly), on the same model in the same run, and the
// ratios. Needs the benchmark model from /work/shared/bench/setup.sh in $BENCH_DIR (default
// /tmp/distilbert-bench); without it, times the matrix multiplies alone.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const BENCH_DIR = process.env.BENCH_DIR ?? "/tmp/distilbert-bench";
const MODEL_DIR = join(BENCH_DIR, "distilbert-base");
const BASELINES = process.env.BENCH_SCRIPTS ?? "/work/shared/bench";
const SHAPES = "1x128,8x128,1x512";
const RUNS = "5";
const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "dist", "src", "cli", "main.js");

interface Line {
  runtime: string;
  step?: string;
  batch: number;
  seq: number;
  threads: number;
  median_ms: number;
  seq_per_s: number;
}

function runJsonLines(args: string[]): Line[] {
  process.stderr.write(`$ node ${args.join(" ")}\n`);
  let output: string;
  try {
    output = execFileSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 24 });
  } catch (error) {
    process.stderr.write(`  failed: ${(error as Error).message.split("\n")[0]}\n`);
    return [];
  }
  const lines = output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Line);
  for (const line of lines) console.log(JSON.stringify(line));
  return lines;
}

function ours(backend: string, threads: number, train: boolean): Line[] {
  const args = [CLI, "bench", "--model", MODEL_DIR, "--backend", backend, "--threads"];
  args.push(String(threads), "--shapes", SHAPES, "--runs", RUNS, "--json");
  args.push("--train", train ? "8x128" : "none");
  return runJsonLines(args);
}

function baseline(script: string, threads: number): Line[] {
  const path = join(BASELINES, script);
  if (!existsSync(path)) return [];
  return runJsonLines([path, "--shapes", SHAPES, "--threads", String(threads), "--runs", RUNS]);
}

function printRatios(all: Line[]): void {
  const find = (runtime: string, threads: number, batch: number, seq: number) =>
    all.find(
      (l) =>
        l.runtime === runtime &&
        l.threads === threads &&
        l.batch === batch &&
        l.seq === seq &&
        l.step !== "train",
    );
  console.log("\nthroughput ratios (seq/s of ours / seq/s of the baseline; > 1 is faster):");
  for (const line of all) {
    if (!line.runtime.startsWith("distilbert-ts") || line.step === "train") continue;
    const parts = [`${line.runtime} ${line.threads}t ${line.batch}x${line.seq}`];
    parts.push(`${line.median_ms} ms, ${line.seq_per_s} seq/s`);
    for (const other of ["onnxruntime-web-wasm", "onnxruntime-node"]) {
      const base = find(other, line.threads, line.batch, line.seq);
      if (base) parts.push(`${(line.seq_per_s / base.seq_per_s).toFixed(2)}x ${other}`);
    }
    console.log(`  ${parts.join(" | ")}`);
  }
  for (const line of all.filter((l) => l.step === "train")) {
    console.log(`  ${line.runtime} ${line.threads}t training step 8x128: ${line.median_ms} ms`);
  }
}

if (!existsSync(join(MODEL_DIR, "model.safetensors"))) {
  console.error(
    `no benchmark model in ${MODEL_DIR} (run /work/shared/bench/setup.sh): timing matrix multiplies only`,
  );
  runJsonLines([join(ROOT, "dist", "bench", "kernels.js"), "--backend", "wasm"]);
} else {
  const all = [
    ...ours("wasm", 2, true),
    ...ours("wasm", 1, false),
    ...baseline("ort-web.mjs", 2),
    ...baseline("ort-web.mjs", 1),
    ...baseline("ort.mjs", 2),
  ];
  printRatios(all);
}
