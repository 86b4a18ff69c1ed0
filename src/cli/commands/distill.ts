// `distilbert distill`: DistilBERT's distillation of a teacher into a smaller student on a CPU.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { initStudent, weightSource } from "../../distill/init-student.js";
import { DEFAULT_LOSS_WEIGHTS, type DistillLossWeights } from "../../distill/losses.js";
import { Masker, packCorpus, tokenCounts } from "../../distill/mlm-data.js";
import { distillMlm } from "../../distill/mlm-distill.js";
import { RowMaskedLM } from "../../distill/row-mlm.js";
import { distillClassifier } from "../../distill/task-distill.js";
import { UserError } from "../../errors.js";
import { loadConfig } from "../../io/config.js";
import { Checkpoint } from "../../io/safetensors.js";
import { createModel, loadModel, saveModel, saveWeights } from "../../models/index.js";
import type { Backend } from "../../tensor/backend.js";
import { loadTokenizer } from "../../tokenizer/index.js";
import {
  type LoadedCheckpoint,
  readCheckpoint,
  resolveCheckpoint,
} from "../../train/checkpoint.js";
import { readCorpusLines, readDataFile } from "../../train/data.js";
import { evaluate } from "../../train/evaluate.js";
import { encodeDataset } from "../../train/features.js";
import { LabelSet } from "../../train/labels.js";
import { createReporter } from "../../train/progress.js";
import { folderStore } from "../../train/run-store.js";
import type { Command } from "../commands.js";
import {
  backendFrom,
  checkOutDir,
  intList,
  maxLengthFor,
  nonNegative,
  positiveInt,
  required,
  tokensOption,
} from "../options.js";

const help = `distilbert distill --teacher DIR --corpus FILE (--layers N | --student DIR) --out DIR
                  (--steps N | --time-budget SECONDS) [options]

Distils a teacher into a smaller DistilBERT student as DistilBERT's authors did, on a CPU. The
student starts from the teacher's weights (see init-student) and learns on masked-language-model
batches from the corpus (one text a line, tokenized and packed into rows of --seq-len tokens,
15% of the tokens masked afresh every batch: 80% [MASK], 10% random, 10% kept) with the loss
  a_ce * L_ce + a_mlm * L_mlm + a_cos * L_cos (+ a_mse * L_mse)
L_ce: KL divergence between the teacher's and the student's softmax at temperature T, times T^2,
at every real token (or the masked ones only); L_mlm: cross-entropy at the masked tokens; L_cos:
1 - cosine between the student's and the teacher's last hidden states at every real token.
The teacher runs in inference mode; AdamW with linear warm-up and decay, gradient clipping.

Task-specific distillation (--task text-classification --train FILE): the teacher is a fine-tuned
sequence classifier (BertForSequenceClassification or DistilBertForSequenceClassification); the
student takes its embeddings and layers as above, DistilBERT's pre_classifier from BERT's pooler
dense and the classifier from the teacher's, and learns on the task's training file from
  a_ce * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + a_mlm * cross-entropy(labels)
(the hard labels take the masked-LM term's place).

Options:
  --teacher DIR          a BertForMaskedLM or DistilBertForMaskedLM folder
  --corpus FILE          training text, one text a line
  --layers N             student layers, initialised from the teacher (see --teacher-layers)
  --teacher-layers LIST  the teacher layers to copy (default: evenly spaced, first and last kept)
  --fold-token-type      fold BERT's token-type-0 embedding into the student's positions
  --student DIR          or: start from this (DistilBertForMaskedLM) student instead
  --out DIR              the student is written here (checkpoints in DIR/checkpoint-N); refused
                         if not empty, unless resuming its run or with --overwrite
  --overwrite            write into a non-empty --out
  --steps N              optimizer steps
  --time-budget SECONDS  or: as many steps as fit (planned from the first step's time)
  --batch-size N         rows per step (default 32)
  --seq-len N            tokens per row (default 128)
  --lr X                 peak learning rate (default 5e-4)
  --warmup-ratio X       share of the steps spent warming up (default 0.05)
  --weight-decay X       AdamW weight decay, not on biases and LayerNorms (default 0)
  --max-grad-norm X      clip the gradients' global norm (default 5)
  --temperature T        softmax temperature of the soft targets (default 2)
  --alpha-ce X           weight of the soft-target loss (default 5)
  --alpha-mlm X          weight of the masked-LM loss (default 2)
  --alpha-cos X          weight of the cosine loss (default 1)
  --alpha-mse X          weight of a mean-squared error on the logits (default 0)
  --ce-masked-only       soft targets at the masked tokens only (much less work per step)
  --mlm-smoothing X      choose masked tokens with probability ~ count^-X (default 0.7, as
                         DistilBERT; 0: uniformly)
  --save-every N         write a checkpoint every N steps (and at the end)
  --resume DIR           continue from DIR's latest checkpoint (or a checkpoint-N folder) with the
                         same options: the run continues exactly as if never stopped
  --seed N               seeds the batch order, the masks and dropout (default 42)
  --fp16                 write the final student in float16 (checkpoints stay float32)
  --backend NAME         auto, native, wasm, reference (default auto)
  --threads N            worker threads (default: the machine's cores)

Options for task-specific distillation:
  --task text-classification
  --train FILE           JSON lines or CSV, one example a line
  --eval FILE            scored (accuracy, F1) for the teacher and the student at the end
  --text-field NAME      the text field (default text)
  --label-field NAME     the label field (default label)
  --max-length N         tokens per example (default 128)
  --epochs N             passes over --train (default 3) unless --steps is given
  --lr X                 (default 1e-4 with --task)

Examples:
  distilbert distill --teacher models/bert-mini-sotu --corpus data/corpus.train.txt --layers 2 \\
    --time-budget 180 --out out/distilbert-mini-sotu
  distilbert distill --task text-classification --teacher models/bert-mini-sotu-party \\
    --train data/tasks/sotu-party.train.jsonl --eval data/tasks/sotu-party.dev.jsonl --layers 2 \\
    --epochs 2 --out out/distilbert-mini-sotu-party`;

const OPTIONS = {
  teacher: { type: "string" },
  corpus: { type: "string" },
  layers: { type: "string" },
  "teacher-layers": { type: "string" },
  "fold-token-type": { type: "boolean", default: false },
  student: { type: "string" },
  out: { type: "string" },
  overwrite: { type: "boolean", default: false },
  steps: { type: "string" },
  "time-budget": { type: "string" },
  "batch-size": { type: "string" },
  "seq-len": { type: "string" },
  lr: { type: "string" },
  "warmup-ratio": { type: "string" },
  "weight-decay": { type: "string" },
  "max-grad-norm": { type: "string" },
  temperature: { type: "string" },
  "alpha-ce": { type: "string" },
  "alpha-mlm": { type: "string" },
  "alpha-cos": { type: "string" },
  "alpha-mse": { type: "string" },
  "ce-masked-only": { type: "boolean", default: false },
  "mlm-smoothing": { type: "string" },
  "save-every": { type: "string" },
  resume: { type: "string" },
  seed: { type: "string" },
  fp16: { type: "boolean", default: false },
  backend: { type: "string" },
  threads: { type: "string" },
  task: { type: "string" },
  train: { type: "string" },
  eval: { type: "string" },
  "text-field": { type: "string" },
  "label-field": { type: "string" },
  "max-length": { type: "string" },
  epochs: { type: "string" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];

function lossWeights(values: Values): DistillLossWeights {
  const temperature = nonNegative(
    "temperature",
    values.temperature,
    DEFAULT_LOSS_WEIGHTS.temperature,
  );
  if (temperature === 0) throw new UserError("--temperature must be above 0");
  return {
    temperature,
    alphaCe: nonNegative("alpha-ce", values["alpha-ce"], DEFAULT_LOSS_WEIGHTS.alphaCe),
    alphaMlm: nonNegative("alpha-mlm", values["alpha-mlm"], DEFAULT_LOSS_WEIGHTS.alphaMlm),
    alphaCos: nonNegative("alpha-cos", values["alpha-cos"], DEFAULT_LOSS_WEIGHTS.alphaCos),
    alphaMse: nonNegative("alpha-mse", values["alpha-mse"], DEFAULT_LOSS_WEIGHTS.alphaMse),
    ceMaskedOnly: values["ce-masked-only"] ?? false,
  };
}

/**
 * The student: from the checkpoint when resuming (whatever made it), a given folder, or a new one
 * from the teacher's layers.
 */
function studentSource(values: Values, teacherDir: string, resumeDir: string | null) {
  if (resumeDir) {
    return { config: loadConfig(resumeDir), weights: Checkpoint.open(resumeDir), name: resumeDir };
  }
  if (values.student) {
    if (values.layers || values["teacher-layers"] || values["fold-token-type"]) {
      throw new UserError(
        "--layers, --teacher-layers and --fold-token-type make a new student; leave them out with --student",
      );
    }
    const dir = values.student;
    return { config: loadConfig(dir), weights: Checkpoint.open(dir), name: dir };
  }
  const teacherLayers = intList("teacher-layers", values["teacher-layers"]);
  const layers = positiveInt("layers", values.layers) ?? teacherLayers?.length;
  if (layers === undefined) {
    throw new UserError("distill needs --layers N (a new student) or --student DIR");
  }
  const init = initStudent(
    loadConfig(teacherDir),
    Checkpoint.open(teacherDir),
    { layers, teacherLayers, foldTokenType: values["fold-token-type"] },
    teacherDir,
  );
  return {
    config: init.config,
    weights: weightSource(init.weights),
    name: `a ${layers}-layer student from teacher layers [${init.teacherLayers.join(", ")}]`,
  };
}

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS });
  const teacherDir = required("distill", "teacher", values.teacher);
  const outDir = required("distill", "out", values.out);
  checkOutDir(outDir, [teacherDir, values.student, values.corpus, values.train], values, true);
  const steps = positiveInt("steps", values.steps);
  const timeBudget =
    values["time-budget"] === undefined
      ? null
      : nonNegative("time-budget", values["time-budget"], 0);
  const backend = await backendFrom(values);
  const seed = nonNegative("seed", values.seed, 42);
  const loss = lossWeights(values);
  const resume = values.resume ? readCheckpoint(resolveCheckpoint(values.resume)) : null;
  if (values.task !== undefined) {
    if (values.task !== "text-classification") {
      throw new UserError(`--task supports text-classification, got '${values.task}'`);
    }
    if (timeBudget !== null) {
      throw new UserError(
        "--time-budget is for masked-LM distillation; with --task, give --epochs or --steps",
      );
    }
    const context = { teacherDir, outDir, steps, backend, seed, loss, resume };
    return distillTextClassifier(values, context);
  }

  if (steps === null && timeBudget === null) {
    throw new UserError("distill needs --steps N or --time-budget SECONDS");
  }
  const corpus = required("distill", "corpus", values.corpus);
  const teacherConfig = loadConfig(teacherDir);
  const reporter = createReporter();
  const teacher = RowMaskedLM.create(
    teacherConfig,
    Checkpoint.open(teacherDir),
    backend,
    teacherDir,
  );
  const source = studentSource(values, teacherDir, resume?.dir ?? null);
  const student = RowMaskedLM.create(source.config, source.weights, backend, source.name);
  if (student.config.hiddenSize !== teacherConfig.hiddenSize) {
    throw new UserError(
      `the cosine loss compares hidden states: the student's dim (${student.config.hiddenSize}) must equal the teacher's hidden size (${teacherConfig.hiddenSize})`,
    );
  }
  if (student.config.vocabSize !== teacherConfig.vocabSize) {
    throw new UserError(
      `the student's vocabulary (${student.config.vocabSize}) differs from the teacher's (${teacherConfig.vocabSize}): they must share the tokenizer`,
    );
  }
  const tokenizer = loadTokenizer(teacherDir);
  const positions = Math.min(
    teacherConfig.maxPositionEmbeddings,
    student.config.maxPositionEmbeddings,
  );
  const seqLen = tokensOption("seq-len", values["seq-len"], positions) ?? Math.min(128, positions);
  const started = performance.now();
  const rows = packCorpus(readCorpusLines(corpus), tokenizer, seqLen);
  const smoothing = nonNegative("mlm-smoothing", values["mlm-smoothing"], 0.7);
  const masker = Masker.forTokenizer(
    tokenizer,
    0.15,
    smoothing,
    smoothing > 0 ? tokenCounts(rows, tokenizer.vocabSize) : undefined,
  );
  reporter.message(
    `teacher ${teacherConfig.architectures[0]} (${teacherConfig.numLayers} layers) -> student ${source.name}; ${rows.count} rows of ${seqLen} tokens from ${corpus} (${((performance.now() - started) / 1000).toFixed(1)} s); ${backend.name} backend, ${backend.threads} threads`,
  );
  if (resume) reporter.message(`resuming from ${resume.dir} (step ${resume.state.step})`);
  const dtype = values.fp16 ? "F16" : "F32";
  const writeFolder = (dir: string) => {
    saveWeights(student.config, student.checkpointTensors(), dir, {
      dtype: dir === outDir ? dtype : "F32",
      tokenizerFrom: teacherDir,
    });
  };
  const options = {
    batchSize: positiveInt("batch-size", values["batch-size"]) ?? 32,
    lr: nonNegative("lr", values.lr, 5e-4),
    warmupRatio: nonNegative("warmup-ratio", values["warmup-ratio"], 0.05),
    maxGradNorm: nonNegative("max-grad-norm", values["max-grad-norm"], 5),
    weightDecay: nonNegative("weight-decay", values["weight-decay"], 0),
    seed,
    steps,
    timeBudget,
    saveEvery: positiveInt("save-every", values["save-every"]),
    loss,
    mlmSmoothing: smoothing,
    store: folderStore(outDir),
  };
  const result = distillMlm(
    teacher,
    student,
    { rows, masker, padTokenId: tokenizer.padTokenId },
    options,
    writeFolder,
    reporter,
    resume,
  );
  const last = result.steps.slice(-Math.min(20, result.steps.length));
  const mean = (key: "total" | "ce" | "mlm" | "cos") =>
    last.reduce((sum, s) => sum + (key === "total" ? s.loss : s.parts[key]), 0) /
    Math.max(1, last.length);
  const summary = {
    teacher: teacherDir,
    student: source.name,
    corpus,
    steps: result.finalStep,
    plannedSteps: result.totalSteps,
    trainSeconds: Math.round(result.trainSeconds),
    tokensPerStep: options.batchSize * seqLen,
    backend: backend.name,
    threads: backend.threads,
    options: { ...options, loss: undefined, ...loss, store: undefined },
    lastLosses: { total: mean("total"), ce: mean("ce"), mlm: mean("mlm"), cos: mean("cos") },
  };
  writeFileSync(join(outDir, "distill_summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(
    `distilled ${result.finalStep} steps in ${result.trainSeconds.toFixed(0)} s; loss (mean of the last ${last.length} steps) ${mean("total").toFixed(3)}: ce ${mean("ce").toFixed(3)}, mlm ${mean("mlm").toFixed(3)}, cos ${mean("cos").toFixed(3)}; student written to ${outDir}\n`,
  );
  return 0;
}

interface TaskContext {
  teacherDir: string;
  outDir: string;
  steps: number | null;
  backend: Backend;
  seed: number;
  loss: DistillLossWeights;
  resume: LoadedCheckpoint | null;
}

async function distillTextClassifier(values: Values, context: TaskContext): Promise<number> {
  const { teacherDir, outDir, backend, resume } = context;
  const trainPath = required("distill", "train", values.train);
  const teacher = loadModel(teacherDir, { backend });
  if (teacher.head !== "sequence-classification") {
    throw new UserError(
      `--task text-classification needs a fine-tuned sequence classifier as the teacher; ${teacherDir} is a ${teacher.architecture}`,
    );
  }
  const tokenizer = loadTokenizer(teacherDir);
  const teacherConfig = loadConfig(teacherDir);
  const labels = new LabelSet(
    Array.from({ length: teacherConfig.numLabels }, (_, id) => teacherConfig.id2label[id]),
  );
  const task = "text-classification";
  const settings = {
    task,
    fields: {
      text: values["text-field"] ?? "text",
      pair: null,
      label: values["label-field"] ?? "label",
    },
    maxLength: maxLengthFor(values["max-length"], teacherConfig.maxPositionEmbeddings),
    labels,
  } as const;
  const trainData = encodeDataset(readDataFile(trainPath), tokenizer, settings);
  const source = studentSource(values, teacherDir, resume?.dir ?? null);
  const student = createModel(source.config, source.weights, backend, { sourceName: source.name });
  const reporter = createReporter();
  reporter.message(
    `teacher ${teacher.architecture} (${teacherConfig.numLayers} layers) -> student ${source.name}; ${trainData.features.length} training examples, labels ${labels.describe()}; ${backend.name} backend, ${backend.threads} threads`,
  );
  const dtype = values.fp16 ? "F16" : "F32";
  const writeFolder = (dir: string) => {
    saveModel(student, source.config, dir, {
      dtype: dir === outDir ? dtype : "F32",
      tokenizerFrom: teacherDir,
    });
  };
  const result = distillClassifier(
    teacher,
    student,
    trainData,
    tokenizer.padTokenId,
    {
      epochs: positiveInt("epochs", values.epochs) ?? 3,
      steps: context.steps,
      batchSize: positiveInt("batch-size", values["batch-size"]) ?? 32,
      lr: nonNegative("lr", values.lr, 1e-4),
      warmupRatio: nonNegative("warmup-ratio", values["warmup-ratio"], 0.05),
      weightDecay: nonNegative("weight-decay", values["weight-decay"], 0),
      maxGradNorm: nonNegative("max-grad-norm", values["max-grad-norm"], 5),
      temperature: context.loss.temperature,
      alphaCe: context.loss.alphaCe,
      alphaHard: context.loss.alphaMlm,
      seed: context.seed,
      saveEvery: positiveInt("save-every", values["save-every"]),
      store: folderStore(outDir),
    },
    writeFolder,
    reporter,
    resume,
  );
  const summary: Record<string, unknown> = {
    teacher: teacherDir,
    student: source.name,
    train: trainPath,
    steps: result.steps.length,
    trainSeconds: Math.round(result.trainSeconds),
  };
  process.stdout.write(
    `distilled ${result.steps.length} steps in ${result.trainSeconds.toFixed(0)} s; student written to ${outDir}\n`,
  );
  if (values.eval) {
    const evalData = encodeDataset(readDataFile(values.eval), tokenizer, settings);
    for (const [name, model] of [
      ["teacher", teacher],
      ["student", student],
    ] as const) {
      const metrics = evaluate(model, evalData, task, labels, 32, tokenizer.padTokenId);
      summary[`${name}Eval`] = metrics;
      process.stdout.write(
        `${name} on ${values.eval}: accuracy ${(100 * metrics.accuracy).toFixed(2)}%, F1 ${(100 * metrics.f1).toFixed(2)}%\n`,
      );
    }
  }
  writeFileSync(join(outDir, "distill_summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}

export const distill: Command = {
  summary:
    "distil a teacher into a smaller DistilBERT student on masked-LM batches (DistilBERT's triple loss)",
  help,
  run,
};
