// `distilbert bench`: inference throughput of a model folder on a backend, shape by shape, and
// the time of one training step (forward + backward + AdamW).

import { parseArgs } from "node:util";
import { UserError } from "../../errors.js";
import { loadModel } from "../../models/index.js";
import type { Model, ModelDtype, ModelInputs, ModelLabels } from "../../models/types.js";
import type { Backend } from "../../tensor/backend.js";
import { BACKEND_CHOICES, type BackendChoice, createBackend } from "../../tensor/index.js";
import { AdamW } from "../../train/optimizer.js";
import type { Command } from "../commands.js";
import { dtypeChoice, dtypeHelp } from "../options.js";

const help = `distilbert bench --model DIR [options]

Times a Hugging Face DistilBERT or BERT model folder on random token ids with a full attention
mask: for each batch x sequence shape, the median and minimum time of one forward pass after two
warm-up passes, and sequences per second; then one training step (forward with dropout, backward,
AdamW) at the --train shape. The machine should be otherwise idle: times on a shared machine drift.

Options:
  --model DIR        model folder (config.json + model.safetensors)
  --backend NAME     ${BACKEND_CHOICES.join(", ")} (default auto: the fastest available)
  --threads N        threads for the backend (default: the machine's cores)
  ${dtypeHelp(19)}
  --shapes LIST      comma-separated BATCHxSEQ shapes (default 1x128,8x128)
  --train SHAPE      the training step's shape, or "none" to skip it (default 8x128; none for
                     an int8 model, which runs inference only)
  --runs N           timed inference runs per shape (default: enough for about 40 sequences, at
                     least 5)
  --train-runs N     timed training steps, after one warm-up (default 3)
  --json             one JSON line per shape instead of a table:
                     {"runtime", "dtype", "step", "batch", "seq", "threads", "runs",
                      "median_ms", "min_ms", "seq_per_s"}

Example:
  distilbert bench --model /tmp/distilbert-bench/distilbert-base --backend wasm --threads 2 \\
    --shapes 1x128,8x128,1x512 --json`;

export interface BenchResult {
  runtime: string;
  dtype: ModelDtype;
  step: "inference" | "train";
  batch: number;
  seq: number;
  threads: number;
  runs: number;
  median_ms: number;
  min_ms: number;
  seq_per_s: number;
}

function parseShape(text: string): [number, number] {
  const match = /^(\d+)x(\d+)$/.exec(text.trim());
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
    throw new UserError(`a shape is BATCHxSEQ with positive numbers, like 8x128; got '${text}'`);
  }
  return [Number(match[1]), Number(match[2])];
}

function randomInputs(model: Model, batch: number, seq: number, seed: number): ModelInputs {
  if (seq > model.config.maxPositionEmbeddings) {
    throw new UserError(
      `sequence length ${seq} is longer than the model's ${model.config.maxPositionEmbeddings} positions`,
    );
  }
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const vocab = model.config.vocabSize;
  return {
    inputIds: Int32Array.from({ length: batch * seq }, () => 1 + Math.floor(next() * (vocab - 1))),
    attentionMask: new Float32Array(batch * seq).fill(1),
    batch,
    seq,
  };
}

function summarise(
  model: Model,
  step: BenchResult["step"],
  batch: number,
  seq: number,
  times: number[],
): BenchResult {
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return {
    runtime: `distilbert-ts-${model.backend.name}`,
    dtype: model.dtype,
    step,
    batch,
    seq,
    threads: model.backend.threads,
    runs: times.length,
    median_ms: Number(median.toFixed(2)),
    min_ms: Number(sorted[0].toFixed(2)),
    seq_per_s: Number(((batch * 1000) / median).toFixed(2)),
  };
}

function time(action: () => void): number {
  const start = performance.now();
  action();
  return performance.now() - start;
}

/** Forward passes at batch x seq: two warm-up runs, then `runs` timed ones. */
export function benchInference(
  model: Model,
  batch: number,
  seq: number,
  runs: number,
): BenchResult {
  const inputs = randomInputs(model, batch, seq, 1);
  for (let i = 0; i < 2; i++) model.forward(inputs);
  const times = Array.from({ length: runs }, () => time(() => model.forward(inputs)));
  return summarise(model, "inference", batch, seq, times);
}

/**
 * Labels of the shape the model's head takes, so that its loss (and so backward) runs: class ids,
 * regression or multi-label targets, token labels, masked-LM labels (one token in seven masked,
 * the rest -100 as Hugging Face ignores them) or answer spans.
 */
function trainingLabels(model: Model, batch: number, seq: number): ModelLabels {
  const { numLabels, problemType, vocabSize } = model.config;
  switch (model.head) {
    case "sequence-classification":
      if (problemType === "single_label_classification" || (!problemType && numLabels > 1)) {
        return { labels: Int32Array.from({ length: batch }, (_, i) => i % numLabels) };
      }
      return {
        floatLabels: Float32Array.from({ length: batch * numLabels }, (_, i) => i % 2),
      };
    case "token-classification":
      return { labels: Int32Array.from({ length: batch * seq }, (_, i) => i % numLabels) };
    case "masked-lm":
      return {
        labels: Int32Array.from({ length: batch * seq }, (_, i) =>
          i % 7 === 0 ? 1 + ((i * 7919) % (vocabSize - 1)) : -100,
        ),
      };
    case "question-answering":
      return {
        startPositions: Int32Array.from({ length: batch }, (_, i) => i % seq),
        endPositions: Int32Array.from({ length: batch }, (_, i) => (i + 1) % seq),
      };
    default:
      throw new UserError(
        `the training step does not support the ${model.head} head; use --train none`,
      );
  }
}

/** Training steps (forward with dropout, backward, AdamW): one warm-up, then `runs` timed. */
export function benchTraining(model: Model, batch: number, seq: number, runs: number): BenchResult {
  const inputs = randomInputs(model, batch, seq, 2);
  const labels = trainingLabels(model, batch, seq);
  model.enableGradients();
  const optimizer = new AdamW(model.backend, model.parameters, { weightDecay: 0.01 });
  const trainStep = () => {
    model.zeroGradients();
    model.forward(inputs, labels, { train: true });
    model.backward();
    optimizer.update(1e-5);
  };
  trainStep();
  const times = Array.from({ length: runs }, () => time(trainStep));
  return summarise(model, "train", batch, seq, times);
}

function defaultRuns(batch: number): number {
  return Math.max(5, Math.ceil(40 / batch));
}

function positiveInteger(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new UserError(`${option} must be a positive integer, got '${text}'`);
  }
  return value;
}

function printTable(result: BenchResult): void {
  const what = result.step === "train" ? "train step" : "inference";
  console.log(
    `${result.runtime} ${result.dtype} ${what} ${result.batch}x${result.seq}, ${result.threads} threads: ` +
      `median ${result.median_ms} ms, min ${result.min_ms} ms, ${result.seq_per_s} seq/s (${result.runs} runs)`,
  );
}

/**
 * The backend asked for. createBackend falls back from native to the next backend, which is right
 * for `auto` but would label a benchmark of another backend as native: native must load or fail.
 */
async function chooseBackend(name: BackendChoice, threads: number | undefined): Promise<Backend> {
  if (name !== "native") return createBackend(name, { threads });
  try {
    const { NativeBackend } = await import("../../tensor/native/native-backend.js");
    return new NativeBackend({ threads });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UserError(`native backend not available: ${reason} (build it: npm run build:native)`);
  }
}

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string" },
      backend: { type: "string", default: "auto" },
      threads: { type: "string" },
      dtype: { type: "string" },
      shapes: { type: "string", default: "1x128,8x128" },
      train: { type: "string" },
      runs: { type: "string" },
      "train-runs": { type: "string", default: "3" },
      json: { type: "boolean", default: false },
    },
  });
  if (!values.model) throw new UserError("bench needs --model DIR (see distilbert bench --help)");
  const backendName = values.backend as BackendChoice;
  if (!BACKEND_CHOICES.includes(backendName)) {
    throw new UserError(
      `--backend must be one of ${BACKEND_CHOICES.join(", ")}, got '${values.backend}'`,
    );
  }
  const threads = positiveInteger(values.threads, "--threads");
  const runs = positiveInteger(values.runs, "--runs");
  const trainingRuns = positiveInteger(values["train-runs"], "--train-runs") ?? 3;
  const shapes = values.shapes.split(",").map(parseShape);
  const dtype = dtypeChoice(values.dtype);
  const backend = await chooseBackend(backendName, threads);
  // Without a training step the model is loaded as inference loads it (weights packed at load).
  const model = loadModel(values.model, { backend, dtype, inference: values.train === "none" });
  const trainText = values.train ?? (model.dtype === "int8" ? "none" : "8x128");
  const trainShape = trainText === "none" ? undefined : parseShape(trainText);
  const report = values.json
    ? (result: BenchResult) => console.log(JSON.stringify(result))
    : printTable;
  for (const [batch, seq] of shapes) {
    report(benchInference(model, batch, seq, runs ?? defaultRuns(batch)));
  }
  if (trainShape) {
    const [batch, seq] = trainShape;
    report(benchTraining(model, batch, seq, trainingRuns));
  }
  return 0;
}

export const bench: Command = {
  summary: "time inference and a training step of a model on a backend",
  help,
  run,
};
