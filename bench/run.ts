// `npm run bench`: the project against what its users would otherwise run, on the same machine in
// one run. Inference of DistilBERT-base on our native and wasm backends beside onnxruntime-node,
// onnxruntime-web's WebAssembly and PyTorch (2 and 1 threads), and in headless Chromium beside
// onnxruntime-web there (bench/browser.ts), in float32 and in int8 (ours
// quantized by `distilbert quantize`, theirs by onnxruntime's dynamic quantization, also run end
// to end through transformers.js); peak memory; the training step against PyTorch's; the matrix
// multiply alone; the tokenizer against Hugging Face's. Every measurement is
// a JSON line on stdout; then the medians over the rounds (round "median") and a markdown summary
// of the ratios, also written to bench/results/latest.md.
//
// Each round runs every runtime once, ours beside the baseline of its kind (native beside
// onnxruntime-node and PyTorch, wasm beside onnxruntime-web), so that drift on a shared machine
// hits both; the summary takes the median of the rounds.
//
//   npm run bench [-- --quick] [-- --rounds 3 --runs 5 --shapes 1x128,8x128,1x512]
//
// BENCH_DIR: the baselines' installation and model (default /tmp/distilbert-bench, made by
// ../shared/bench/setup.sh); BENCH_SCRIPTS: the baseline scripts (default ../shared/bench beside
// the repository). What is missing is skipped with one line saying so.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { type Measurement, medianOfRounds } from "./measurement.js";
import { summarise } from "./summary.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const BENCH_DIR = process.env.BENCH_DIR ?? "/tmp/distilbert-bench";
const SCRIPTS = process.env.BENCH_SCRIPTS ?? join(ROOT, "..", "shared", "bench");
const MODEL_DIR = join(BENCH_DIR, "distilbert-base");
/** MODEL_DIR quantized by `distilbert quantize`, made on the first run. */
const INT8_MODEL_DIR = join(BENCH_DIR, "distilbert-base-int8");
const RESULTS = join(ROOT, "bench", "results", "latest.md");
const JOB_TIMEOUT_MS = 15 * 60 * 1000;

const HELP = `npm run bench [-- options]

Runs DistilBERT-base inference on our native and wasm backends beside onnxruntime-node,
onnxruntime-web and PyTorch (2 and 1 threads), our browser bundle beside onnxruntime-web in
headless Chromium (/usr/bin/chromium), and in int8 beside onnxruntime's int8 and
transformers.js (fp32 and q8, end to end), peak memory beside onnxruntime's, the training step
beside PyTorch's, the matrix multiply alone and the tokenizer beside Hugging Face's, in rounds; prints JSON lines, then the
medians and a summary of the ratios (also written to bench/results/latest.md). The baselines
come from $BENCH_DIR (default /tmp/distilbert-bench, made by ../shared/bench/setup.sh).

Options:
  --quick         one round, 2 runs, 1x128 and 8x128 only
  --rounds N      rounds (default 3)
  --runs N        timed runs per measurement (default 5)
  --shapes LIST   batch x sequence shapes (default 1x128,8x128,1x512)
  --help          this text`;

function parseOptions() {
  try {
    return parseArgs({
      options: {
        quick: { type: "boolean", default: false },
        rounds: { type: "string" },
        runs: { type: "string" },
        shapes: { type: "string" },
        help: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    process.exit(1);
  }
}
const { values } = parseOptions();
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const quick = values.quick;
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
const runs = Number(values.runs ?? (quick ? 2 : 5));
const shapes = values.shapes ?? (quick ? "1x128,8x128" : "1x128,8x128,1x512");
const trainingRuns = quick ? 1 : 3;
for (const [option, value] of [
  ["--rounds", rounds],
  ["--runs", runs],
] as const) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`${option} must be a positive integer`);
    process.exit(1);
  }
}

interface Job {
  name: string;
  command: string;
  args: string[];
  /** Files the job needs: when one is missing the job is skipped. */
  needs: string[];
  /** Given to lines that do not name their model. */
  model?: string;
  env?: Record<string, string>;
}

const skipped = new Set<string>();

function skip(reason: string): void {
  if (skipped.has(reason)) return;
  skipped.add(reason);
  console.error(`skipped ${reason}`);
}

function missingNeed(job: Job): string | undefined {
  return job.needs.find((path) => !existsSync(path));
}

/** One line per missing file, naming the jobs it stops, before anything runs. */
function reportMissing(jobs: Job[]): void {
  const stopped = new Map<string, string[]>();
  for (const job of jobs) {
    const missing = missingNeed(job);
    if (missing) stopped.set(missing, [...(stopped.get(missing) ?? []), job.name]);
  }
  for (const [path, names] of stopped) skip(`${names.join(", ")}: ${path} not found`);
  if (stopped.size > 0) {
    console.error(
      `(baselines: ../shared/bench/setup.sh; BENCH_DIR=${BENCH_DIR} is their installation, BENCH_SCRIPTS=${SCRIPTS} their scripts)`,
    );
  }
}

function runJob(job: Job, round: number): Measurement[] {
  if (missingNeed(job)) return [];
  console.error(`$ ${[job.command, ...job.args].join(" ")}`);
  let output: string;
  try {
    output = execFileSync(job.command, job.args, {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 1 << 24,
      timeout: JOB_TIMEOUT_MS,
      env: { ...process.env, ...job.env },
      stdio: ["ignore", "pipe", "inherit"],
    });
  } catch (error) {
    const status = (error as { status?: number }).status;
    skip(`${job.name}: failed (exit ${status ?? "by timeout or signal"}; its message is above)`);
    return [];
  }
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((text) => {
      const line = JSON.parse(text) as Measurement;
      line.step ??= "inference";
      if (job.model) line.model ??= job.model;
      line.round = round;
      console.log(JSON.stringify(line));
      return line;
    });
}

function node(name: string, script: string, args: string[], needs: string[] = []): Job {
  return { name, command: process.execPath, args: [script, ...args], needs: [script, ...needs] };
}

function ours(backend: string, threads: number, train: boolean, int8 = false): Job {
  const model = int8 ? INT8_MODEL_DIR : MODEL_DIR;
  const args = ["bench", "--model", model, "--backend", backend, "--threads", String(threads)];
  args.push("--shapes", shapes, "--runs", String(runs), "--json");
  args.push(
    ...(train ? ["--train", "8x128", "--train-runs", String(trainingRuns)] : ["--train", "none"]),
  );
  const name = `distilbert-ts ${backend}${int8 ? " int8" : ""} ${threads}t`;
  const job = node(name, CLI, args, [join(model, "model.safetensors")]);
  return { ...job, model: "distilbert-base" };
}

/** An onnxruntime-node, onnxruntime-web or transformers.js script, float32 or int8 (q8). */
function ort(script: string, nodeModule: string, threads: number, int8 = false): Job {
  const args = ["--shapes", shapes, "--threads", String(threads), "--runs", String(runs)];
  if (int8) args.push("--int8");
  const onnx = join(MODEL_DIR, int8 ? "model_q8.onnx" : "model.onnx");
  const needs = [onnx, join(BENCH_DIR, "node_modules", nodeModule)];
  const name = `${script}${int8 ? " --int8" : ""} ${threads}t`;
  const job = node(name, join(SCRIPTS, script), args, needs);
  return { ...job, model: "distilbert-base" };
}

/** The directory of the OpenBLAS that ../shared/bench/setup.sh unpacked, as torch.sh finds it. */
function openBlasDir(): string | undefined {
  const root = join(BENCH_DIR, "openblas");
  if (!existsSync(root)) return undefined;
  const found = readdirSync(root, { recursive: true, encoding: "utf8" }).find(
    (path) => path.endsWith("/libblas.so.3") || path === "libblas.so.3",
  );
  return found && dirname(join(root, found));
}

/**
 * Ours (the browser bundle) or onnxruntime-web in headless Chromium, where relaxed SIMD runs
 * (bench/browser.ts), float32 or int8.
 */
function chromiumJob(runtime: "distilbert-ts" | "onnxruntime-web", int8: boolean): Job {
  const script = join(ROOT, "dist", "bench", "browser.js");
  const args = ["--runtime", runtime, "--shapes", shapes, "--runs", String(runs), "--threads", "2"];
  const needs = ["/usr/bin/chromium"];
  if (runtime === "distilbert-ts") {
    const model = int8 ? INT8_MODEL_DIR : MODEL_DIR;
    args.push("--model", model);
    needs.push(join(model, "model.safetensors"), join(ROOT, "dist", "browser", "distilbert.js"));
  } else {
    const ort = join(BENCH_DIR, "node_modules", "onnxruntime-web", "dist");
    args.push("--model", MODEL_DIR, "--ort", ort, ...(int8 ? ["--int8"] : []));
    needs.push(join(MODEL_DIR, int8 ? "model_q8.onnx" : "model.onnx"), ort);
  }
  const job = node(`${runtime} in Chromium${int8 ? " int8" : ""} 2t`, script, args, needs);
  return { ...job, model: "distilbert-base" };
}

function torchInference(): Job {
  const args = ["--shapes", shapes, "--threads", "2", "--runs", String(runs)];
  const script = join(SCRIPTS, "torch.sh");
  return { name: "PyTorch 2t", command: script, args, needs: [script], model: "distilbert-base" };
}

function torchTraining(model: string, shape: string): Job {
  const blas = openBlasDir();
  const args = [join(ROOT, "bench", "train_torch.py"), "--model", model, "--shape", shape];
  args.push("--threads", "2", "--runs", String(trainingRuns), "--baselines", SCRIPTS);
  return {
    name: `PyTorch training ${model} ${shape}`,
    command: "/usr/bin/python3",
    args,
    needs: [
      blas ?? join(BENCH_DIR, "openblas", "**", "libblas.so.3"),
      ...(model === "distilbert-base" ? [join(SCRIPTS, "distilbert_ref.py")] : []),
    ],
    env: { LD_LIBRARY_PATH: blas ?? "" },
  };
}

function teacherTraining(): Job {
  const args = ["--backend", "native", "--threads", "2", "--shape", "32x128"];
  args.push("--runs", String(trainingRuns));
  return node("distilbert-ts teacher training", join(ROOT, "dist", "bench", "train.js"), args);
}

/** One round: each of ours beside the baselines of its kind, 2 threads then 1. */
function roundJobs(): Job[] {
  const jobs: Job[] = [];
  for (const threads of [2, 1]) {
    jobs.push(ours("native", threads, threads === 2), ort("ort.mjs", "onnxruntime-node", threads));
    if (threads === 2) {
      jobs.push(torchInference(), torchTraining("distilbert-base", "8x128"));
      jobs.push(teacherTraining(), torchTraining("bert-mini", "32x128"));
    }
    jobs.push(ours("wasm", threads, threads === 2), ort("ort-web.mjs", "onnxruntime-web", threads));
    if (threads === 2) {
      jobs.push(ours("native", 2, false, true), ort("ort.mjs", "onnxruntime-node", 2, true));
      jobs.push(ours("wasm", 2, false, true), ort("ort-web.mjs", "onnxruntime-web", 2, true));
      for (const int8 of [false, true]) {
        jobs.push(chromiumJob("distilbert-ts", int8), chromiumJob("onnxruntime-web", int8));
      }
      const transformers = "@huggingface/transformers";
      jobs.push(
        ort("transformersjs.mjs", transformers, 2),
        ort("transformersjs.mjs", transformers, 2, true),
      );
    }
  }
  return jobs;
}

/** Measured once: they compare within one process or have no baseline. */
function onceJobs(): Job[] {
  const rows = quick ? "128" : "128,512,1024";
  const kernels = join(ROOT, "dist", "bench", "kernels.js");
  const tokenizer = join(ROOT, "dist", "bench", "tokenizer.js");
  const matmul = (backend: string, ops: string) =>
    node(`matmul ${backend}`, kernels, [
      "--backend",
      backend,
      "--threads",
      "2",
      "--rows",
      rows,
      "--ops",
      ops,
    ]);
  const memory = join(ROOT, "dist", "bench", "memory.js");
  const memoryArgs = ["--model", MODEL_DIR, "--int8-model", INT8_MODEL_DIR, "--cli", CLI];
  memoryArgs.push("--ort-script", join(SCRIPTS, "ort-rss.mjs"));
  return [
    node("memory", memory, memoryArgs, [
      "/usr/bin/time",
      join(MODEL_DIR, "model_q8.onnx"),
      join(INT8_MODEL_DIR, "model.safetensors"),
    ]),
    // NT-packed: the forward product as inference runs it on the native backend (weights kept
    // packed); the WebAssembly backend has no such path.
    matmul("native", "NT,NT-packed"),
    matmul("wasm", "NT"),
    node("tokenizer", tokenizer, quick ? ["--lines", "2000", "--runs", "1"] : []),
  ];
}

function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

/** The int8 model ours runs: MODEL_DIR quantized once, as a user would deploy it. */
function ensureInt8Model(): void {
  if (existsSync(join(INT8_MODEL_DIR, "model.safetensors"))) return;
  if (!existsSync(join(MODEL_DIR, "model.safetensors"))) return;
  console.error(`$ distilbert quantize --model ${MODEL_DIR} --out ${INT8_MODEL_DIR}`);
  execFileSync(process.execPath, [CLI, "quantize", "--model", MODEL_DIR, "--out", INT8_MODEL_DIR], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

ensureInt8Model();
const loadBefore = loadavg()[0];
const lines: Measurement[] = [];
reportMissing([...roundJobs(), ...onceJobs()]);
for (let round = 1; round <= rounds; round++) {
  console.error(`round ${round} of ${rounds}`);
  for (const job of roundJobs()) lines.push(...runJob(job, round));
}
for (const job of onceJobs()) lines.push(...runJob(job, 1));

const medians = medianOfRounds(lines);
for (const line of medians) console.log(JSON.stringify(line));
const once = lines.filter((l) => l.step.startsWith("tokenize") || l.step === "memory");
const summary = summarise([...medians, ...once], {
  date: new Date().toISOString(),
  cpu: `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores`,
  node: process.version,
  rounds,
  runs,
  trainingRuns,
  loadBefore,
  loadAfter: loadavg()[0],
  skipped: [...skipped],
});
console.log(`\n${summary}`);
writeAtomically(RESULTS, summary);
console.error(`summary written to ${RESULTS}`);
