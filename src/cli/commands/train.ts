// `distilbert train`: fine-tune a Hugging Face model folder on a task, writing a Hugging Face
// folder with the best model and resumable checkpoints.

import { parseArgs } from "node:util";
import { UserError } from "../../errors.js";
import { loadConfig } from "../../io/config.js";
import { BACKEND_CHOICES, type BackendChoice, createBackend } from "../../tensor/index.js";
import { loadTokenizer } from "../../tokenizer/index.js";
import { readCheckpoint, resolveCheckpoint } from "../../train/checkpoint.js";
import { readDataFile } from "../../train/data.js";
import { encodeDataset, trainingLabelSet } from "../../train/features.js";
import { prepareModel } from "../../train/model-setup.js";
import { createReporter } from "../../train/progress.js";
import { SCHEDULE_KINDS, type ScheduleKind } from "../../train/schedule.js";
import { TASK_KINDS, TASKS, type TaskKind } from "../../train/tasks.js";
import { train } from "../../train/trainer.js";
import type { Command } from "../commands.js";

const help = `distilbert train --model DIR --task TASK --train FILE [--eval FILE] --out DIR [options]

Fine-tunes a Hugging Face DistilBERT or BERT folder, as Hugging Face's Trainer does: AdamW (no
weight decay on biases and LayerNorm weights), a warm-up then linear decay of the learning rate,
gradient clipping at norm 1, dynamic padding with batches grouped by length. A new head on a
pretrained encoder (e.g. a masked-LM checkpoint) is initialised as Hugging Face initialises it.

--out DIR becomes a Hugging Face model folder: config.json (with id2label/label2id and the
task's architecture, e.g. BertForSequenceClassification), model.safetensors and the tokenizer
files. With --eval it holds the best model by --metric; every evaluation is appended to
DIR/eval_log.jsonl. DIR/checkpoint-N/ holds the latest checkpoint (model, optimizer, schedule,
RNG and data position); --resume DIR continues from it exactly as if never stopped.

Tasks and the fields they read (JSON lines, or CSV with a header row):
  text-classification   --text-field (text), --text-pair-field (none), --label-field (label):
                        an integer id or a label name
  regression            the same fields; the label is a number
  token-classification  --text-field (tokens): a list of words; --label-field (ner_tags): a
                        label per word (the first sub-token of a word is trained on it)
  question-answering    --text-field (question), --text-pair-field (context), --label-field
                        (answers): {"text": [...], "answer_start": [character offsets]}
  multiple-choice       --text-field (question), --text-pair-field (choices): a list of
                        strings, --label-field (label): the index of the right choice

Options:
  --model DIR            the model to start from (config.json, model.safetensors, tokenizer)
  --task TASK            ${TASK_KINDS.join(", ")}
  --train FILE           training data (.jsonl, or .csv)
  --eval FILE            evaluation data, scored at the end of every epoch (or --eval-every)
  --out DIR              output folder (created)
  --text-field NAME, --text-pair-field NAME, --label-field NAME   see above
  --label-names A,B,...  names for integer labels 0, 1, ... (default: the model's, else LABEL_i)
  --epochs N             default 3
  --max-steps N          stop after N optimizer steps instead
  --batch-size N         default 32
  --lr X                 peak learning rate, default 5e-5
  --weight-decay X       default 0.01
  --decay-all            decay biases and LayerNorm weights too
  --warmup-ratio X       share of the steps spent warming up, default 0.1
  --schedule NAME        ${SCHEDULE_KINDS.join(", ")} (default linear)
  --max-length N         tokens per example, default 128
  --grad-accum N         batches per optimizer step, default 1
  --max-grad-norm X      clipping norm, default 1
  --seed N               default 42
  --eval-every N         evaluate every N steps instead of every epoch
  --early-stopping N     stop after N evaluations without a better --metric
  --metric NAME          picks the best model: accuracy (default for classification), f1,
                         f1_macro, mcc, pearson, spearman, mse, exact_match, loss
  --save-every N         write a checkpoint every N steps (always at the end)
  --resume DIR           continue from DIR's latest checkpoint (or a checkpoint folder); give
                         the same options as the first run
  --fp16                 write the output model's weights in float16 (checkpoints stay float32)
  --backend NAME         ${BACKEND_CHOICES.join(", ")} (default auto: the fastest available)
  --threads N            worker threads (default: the machine's cores)

Example:
  distilbert train --model models/bert-mini-sotu --task text-classification \\
    --train data/tasks/spam.train.jsonl --eval data/tasks/spam.dev.jsonl \\
    --epochs 3 --batch-size 32 --lr 1e-4 --out runs/spam`;

function positiveInt(name: string, value: string | undefined, fallback: number | null) {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new UserError(`--${name} must be a whole number >= 1, got '${value}'`);
  }
  return number;
}

function nonNegative(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0 || value.trim() === "") {
    throw new UserError(`--${name} must be a number >= 0, got '${value}'`);
  }
  return number;
}

function need(name: string, value: string | undefined): string {
  if (!value) throw new UserError(`train needs --${name} (see distilbert train --help)`);
  return value;
}

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string" },
      task: { type: "string" },
      train: { type: "string" },
      eval: { type: "string" },
      out: { type: "string" },
      "text-field": { type: "string" },
      "text-pair-field": { type: "string" },
      "label-field": { type: "string" },
      "label-names": { type: "string" },
      epochs: { type: "string" },
      "max-steps": { type: "string" },
      "batch-size": { type: "string" },
      lr: { type: "string" },
      "weight-decay": { type: "string" },
      "decay-all": { type: "boolean" },
      "warmup-ratio": { type: "string" },
      schedule: { type: "string" },
      "max-length": { type: "string" },
      "grad-accum": { type: "string" },
      "max-grad-norm": { type: "string" },
      seed: { type: "string" },
      "eval-every": { type: "string" },
      "early-stopping": { type: "string" },
      metric: { type: "string" },
      "save-every": { type: "string" },
      resume: { type: "string" },
      fp16: { type: "boolean" },
      backend: { type: "string", default: "auto" },
      threads: { type: "string" },
    },
  });
  const modelDir = need("model", values.model);
  const task = need("task", values.task) as TaskKind;
  if (!TASK_KINDS.includes(task)) {
    throw new UserError(`--task must be one of ${TASK_KINDS.join(", ")}, got '${values.task}'`);
  }
  const info = TASKS[task];
  const outDir = need("out", values.out);
  const schedule = (values.schedule ?? "linear") as ScheduleKind;
  if (!SCHEDULE_KINDS.includes(schedule)) {
    throw new UserError(`--schedule must be one of ${SCHEDULE_KINDS.join(", ")}`);
  }
  const metric = values.metric ?? info.defaultMetric;
  if (!info.metrics.includes(metric)) {
    throw new UserError(
      `--metric ${metric} is not computed for ${task}; choose one of ${info.metrics.join(", ")}`,
    );
  }
  const backendName = values.backend as BackendChoice;
  if (!BACKEND_CHOICES.includes(backendName)) {
    throw new UserError(`--backend must be one of ${BACKEND_CHOICES.join(", ")}`);
  }
  const maxLength = positiveInt("max-length", values["max-length"], 128) as number;
  const seed = nonNegative("seed", values.seed, 42);
  const fields = {
    text: values["text-field"] ?? info.defaultFields.text,
    pair: values["text-pair-field"] ?? info.defaultFields.pair,
    label: values["label-field"] ?? info.defaultFields.label,
  };

  const tokenizer = loadTokenizer(modelDir);
  const config = loadConfig(modelDir);
  const trainFile = readDataFile(need("train", values.train));
  const modelNames = Object.keys(config.id2label).map((id) => config.id2label[Number(id)]);
  const labels = trainingLabelSet(
    trainFile,
    task,
    fields,
    modelNames,
    values["label-names"] ? values["label-names"].split(",") : null,
  );
  const settings = { task, fields, maxLength, labels };
  const trainData = encodeDataset(trainFile, tokenizer, settings);
  const evalData = values.eval
    ? encodeDataset(readDataFile(values.eval), tokenizer, settings)
    : null;

  const threads = positiveInt("threads", values.threads, null) ?? undefined;
  const backend = await createBackend(backendName, { threads });
  const resume = values.resume ? readCheckpoint(resolveCheckpoint(values.resume)) : null;
  const prepared = prepareModel(modelDir, task, labels, backend, seed, resume?.dir);
  const reporter = createReporter();
  reporter.message(
    `${prepared.model.architecture} on ${backend.name} (${backend.threads} threads): ${trainData.features.length} training features${evalData ? `, ${evalData.features.length} for evaluation` : ""}${labels ? `, labels ${labels.describe()}` : ""}`,
  );
  if (resume) reporter.message(`resuming from ${resume.dir} (step ${resume.state.step})`);
  const dtype = values.fp16 ? "F16" : "F32";
  const result = train(
    {
      model: prepared.model,
      writeFolder: (dir) => prepared.writeFolder(dir, dir === outDir ? dtype : "F32"),
      train: trainData,
      eval: evalData,
      labels,
      padId: tokenizer.padTokenId,
      reporter,
    },
    {
      task,
      epochs: positiveInt("epochs", values.epochs, 3) as number,
      batchSize: positiveInt("batch-size", values["batch-size"], 32) as number,
      lr: nonNegative("lr", values.lr, 5e-5),
      weightDecay: nonNegative("weight-decay", values["weight-decay"], 0.01),
      decayAll: values["decay-all"] ?? false,
      warmupRatio: nonNegative("warmup-ratio", values["warmup-ratio"], 0.1),
      schedule,
      gradAccum: positiveInt("grad-accum", values["grad-accum"], 1) as number,
      maxGradNorm: nonNegative("max-grad-norm", values["max-grad-norm"], 1),
      seed,
      maxSteps: positiveInt("max-steps", values["max-steps"], null),
      evalEvery: positiveInt("eval-every", values["eval-every"], null),
      earlyStopping: positiveInt("early-stopping", values["early-stopping"], null),
      metric,
      saveEvery: positiveInt("save-every", values["save-every"], null),
      outDir,
    },
    resume,
  );
  const best =
    result.bestMetric === null
      ? ""
      : `; best ${metric} ${result.bestMetric.toFixed(4)} at step ${result.bestStep}`;
  reporter.message(
    `done: ${result.steps.length} steps in ${result.trainSeconds.toFixed(1)} s of training${best}; model in ${outDir}`,
  );
  return 0;
}

export const trainCommand: Command = {
  summary: "fine-tune a model on a task (classification, NER, QA, ...), resumable",
  help,
  run,
};
