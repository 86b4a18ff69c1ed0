// The page's two training jobs, run in its worker over the library's own code: fine-tuning a text
// classifier on a JSON-lines or CSV file (as `distilbert train`), and distilling a masked-LM
// teacher into a smaller student on a text file (as `distilbert distill` with
// --ce-masked-only), then the teacher/student comparison (as `distilbert compare`). Each ends
// with a model folder in memory: what Run uses and what a download gives.

import {
  COMPARISON_HEADER,
  type ComparisonRow,
  comparisonCells,
  encoderSpeed,
} from "../distill/comparison.js";
import { corpusForEvaluation, evaluateMlm, type MaskedRows } from "../distill/eval-mlm.js";
import { initStudent, weightSource } from "../distill/init-student.js";
import { DEFAULT_LOSS_WEIGHTS } from "../distill/losses.js";
import { corpusLines, Masker, packCorpus, tokenCounts } from "../distill/mlm-data.js";
import { distillMlm } from "../distill/mlm-distill.js";
import { RowMaskedLM } from "../distill/row-mlm.js";
import { UserError } from "../errors.js";
import type { ModelConfig } from "../io/config-format.js";
import { encodeSafetensors } from "../io/safetensors-format.js";
import { createModel } from "../models/create.js";
import {
  CHECKPOINT_METADATA,
  checkpointTensors,
  modelFolderFiles,
  savedConfig,
  weightTensors,
} from "../models/folder-format.js";
import { Rng } from "../models/rng.js";
import { type DataFile, parseDataFile } from "../train/data-format.js";
import { encodeDataset, requireSeveralLabels, trainingLabelSet } from "../train/features.js";
import { labelNames } from "../train/labels.js";
import { memoryStore } from "../train/memory-store.js";
import type { Reporter } from "../train/reporter.js";
import { configForTask } from "../train/tasks.js";
import { train } from "../train/trainer.js";
import type { FolderFiles, LoadedFolder, ModelStore } from "./model-store.js";
import type { DistilSettings, FineTuneSettings, ModelInfo, TextFile } from "./protocol.js";

/** What a job tells the page as it runs. */
export interface JobEvents {
  reporter: Reporter;
  evaluation(step: number, metrics: Record<string, number>): void;
}

export interface Trained {
  model: ModelInfo;
  comparison: string[][] | null;
}

const SEED = 42;
/** The share of the file held out for evaluation (at least one row, when there are ten). */
const HELD_OUT = 0.1;

/** Splits items into (train, held out) by a seeded shuffle; nothing is held out below ten. */
function holdOut<T>(items: T[]): [T[], T[]] {
  if (items.length < 10) return [items, []];
  const order = new Rng(SEED).shuffle(items.map((_, i) => i));
  const count = Math.max(1, Math.round(items.length * HELD_OUT));
  const held = new Set(order.slice(0, count));
  return [items.filter((_, i) => !held.has(i)), items.filter((_, i) => held.has(i))];
}

export async function fineTune(
  store: ModelStore,
  modelId: string,
  file: TextFile,
  fields: { text: string; label: string },
  settings: FineTuneSettings,
  events: JobEvents,
): Promise<Trained> {
  const base = store.info(modelId);
  const source = await store.load(modelId);
  const data = parseDataFile(file.text, file.name);
  const [trainRows, evalRows] = holdOut(data.rows);
  const trainFile: DataFile = { path: file.name, rows: trainRows };
  const task = "text-classification";
  const taskFields = { text: fields.text, pair: null, label: fields.label };
  const labels = trainingLabelSet(data, task, taskFields, labelNames(source.config), null);
  requireSeveralLabels(data, task, taskFields);
  const encode = { task, fields: taskFields, maxLength: settings.maxLength, labels } as const;
  const trainData = encodeDataset(trainFile, source.tokenizer, encode);
  const evalData =
    evalRows.length > 0
      ? encodeDataset({ path: `${file.name} (held out)`, rows: evalRows }, source.tokenizer, encode)
      : null;
  const config = configForTask(source.config, task, labels);
  const model = createModel(config, source.checkpoint, store.backend, {
    head: "sequence-classification",
    seed: SEED,
    sourceName: base.name,
  });
  const name = `${base.name} fine-tuned on ${file.name}`;
  let folder: FolderFiles | null = null;
  const writeFolder = () => {
    folder = folderOf(savedConfig(model, config), checkpointTensors(model), source);
  };
  events.reporter.message(
    `${trainData.features.length} examples to train on, ${evalData?.features.length ?? 0} held out; labels ${labels?.describe()}`,
  );
  try {
    train(
      {
        model,
        writeFolder,
        train: trainData,
        eval: evalData,
        labels,
        padId: source.tokenizer.padTokenId,
        reporter: events.reporter,
      },
      {
        task,
        epochs: settings.epochs,
        batchSize: settings.batchSize,
        lr: settings.lr,
        weightDecay: 0.01,
        decayAll: false,
        warmupRatio: 0.1,
        schedule: "linear",
        gradAccum: 1,
        maxGradNorm: 1,
        seed: SEED,
        maxSteps: null,
        evalEvery: null,
        earlyStopping: null,
        metric: evalData ? "accuracy" : "loss",
        saveEvery: null,
        store: memoryStore(name, (record) => {
          const { step, epoch: _epoch, ...metrics } = record;
          events.evaluation(step, metrics);
        }),
      },
    );
  } finally {
    model.dispose();
  }
  if (!folder) throw new Error("the run wrote no model");
  return { model: store.addTrained(name, folder), comparison: null };
}

function folderOf(
  config: ModelConfig,
  tensors: Parameters<typeof modelFolderFiles>[1],
  source: LoadedFolder,
): FolderFiles {
  return { ...modelFolderFiles(config, tensors), ...source.tokenizerFiles };
}

export async function distil(
  store: ModelStore,
  teacherId: string,
  file: TextFile,
  settings: DistilSettings,
  events: JobEvents,
): Promise<Trained> {
  const base = store.info(teacherId);
  if (base.head !== "masked-lm") {
    throw new UserError(
      `distillation here needs a masked-LM teacher (a ...ForMaskedLM), but ${base.name} is a ${base.architecture}`,
    );
  }
  const source = await store.load(teacherId);
  const { config: teacherConfig, checkpoint, tokenizer } = source;
  const [trainLines, evalLines] = holdOut(corpusLines(file.text, file.name));
  const rows = packCorpus(trainLines, tokenizer, settings.seqLen);
  const { backend } = store;
  // The models made here are given back to the backend however the job ends: the page keeps
  // only the resulting folder's files.
  const models: { dispose(): void }[] = [];
  const made = <T extends { dispose(): void }>(model: T): T => {
    models.push(model);
    return model;
  };
  try {
    const teacher = made(RowMaskedLM.create(teacherConfig, checkpoint, backend, base.name));
    const init = initStudent(
      teacherConfig,
      checkpoint,
      { layers: settings.layers, foldTokenType: teacherConfig.modelType === "bert" },
      base.name,
    );
    const student = made(
      RowMaskedLM.create(init.config, weightSource(init.weights), backend, "student"),
    );
    const smoothing = 0.7;
    const masker = Masker.forTokenizer(
      tokenizer,
      0.15,
      smoothing,
      tokenCounts(rows, tokenizer.vocabSize),
    );
    const name = `${settings.layers}-layer student of ${base.name}`;
    let folder: FolderFiles | null = null;
    const writeFolder = () => {
      folder = folderOf(init.config, weightTensors(student.checkpointTensors()), source);
    };
    events.reporter.message(
      `${rows.count} rows of ${settings.seqLen} tokens; student from teacher layers [${init.teacherLayers.join(", ")}]`,
    );
    distillMlm(
      teacher,
      student,
      { rows, masker, padTokenId: tokenizer.padTokenId },
      {
        batchSize: settings.batchSize,
        lr: settings.lr,
        warmupRatio: 0.05,
        maxGradNorm: 5,
        weightDecay: 0,
        seed: SEED,
        steps: settings.steps,
        timeBudget: null,
        saveEvery: null,
        loss: { ...DEFAULT_LOSS_WEIGHTS, ceMaskedOnly: true },
        mlmSmoothing: smoothing,
        store: memoryStore(name),
      },
      writeFolder,
      events.reporter,
    );
    if (!folder) throw new Error("the run wrote no model");
    events.reporter.message("comparing the teacher and the student");
    const studentInt8 = made(
      RowMaskedLM.create(
        init.config,
        weightSource(student.checkpointTensors()),
        backend,
        "student",
        "int8",
      ),
    );
    const int8Folder = made(
      createModel(init.config, weightSource(student.checkpointTensors()), backend, {
        sourceName: "student",
        dtype: "int8",
      }),
    );
    const masked = corpusForEvaluation(
      evalLines.length > 0 ? evalLines : trainLines,
      tokenizer,
      settings.seqLen,
    );
    const comparison = compare(
      {
        teacher,
        student,
        studentInt8,
      },
      {
        teacher: floatBytes(teacher),
        student: floatBytes(student),
        studentInt8: encodeSafetensors(checkpointTensors(int8Folder), CHECKPOINT_METADATA)
          .byteLength,
      },
      masked,
    );
    return { model: store.addTrained(name, folder), comparison };
  } finally {
    for (const model of models) model.dispose();
  }
}

function floatBytes(model: RowMaskedLM): number {
  return encodeSafetensors(weightTensors(model.checkpointTensors()), CHECKPOINT_METADATA)
    .byteLength;
}

type Columns<T> = { teacher: T; student: T; studentInt8: T };

/** `distilbert compare`'s table for the pair, with the student also quantized to int8. */
function compare(
  models: Columns<RowMaskedLM>,
  weightBytes: Columns<number>,
  masked: MaskedRows,
): string[][] {
  const each = <T>(fn: (model: RowMaskedLM) => T): Columns<T> => ({
    teacher: fn(models.teacher),
    student: fn(models.student),
    studentInt8: fn(models.studentInt8),
  });
  const pick = <T>(columns: Columns<T>, fn: (value: T) => number): Columns<number> => ({
    teacher: fn(columns.teacher),
    student: fn(columns.student),
    studentInt8: fn(columns.studentInt8),
  });
  // The encoder alone, as DistilBERT's paper times inference (and `distilbert compare`).
  const speed = each((model) =>
    encoderSpeed(model.encoder, model.config.vocabSize, { seq: 128, batch: 8, repeats: 3 }),
  );
  const rows: ComparisonRow[] = [
    {
      what: "layers",
      ...each((model) => model.config.numLayers),
      relation: "share",
      format: String,
    },
    {
      what: "weights",
      ...weightBytes,
      relation: "share",
      format: (v) => `${(v / 2 ** 20).toFixed(1)} MiB`,
    },
    {
      what: "latency, 1 x 128 tokens",
      ...pick(speed, (s) => s.latencyMs),
      relation: "time",
      format: (v) => `${v.toFixed(1)} ms`,
    },
    {
      what: "throughput, 8 x 128 tokens",
      ...pick(speed, (s) => s.throughput),
      relation: "rate",
      format: (v) => `${v.toFixed(1)} seq/s`,
    },
    {
      what: "masked-token accuracy",
      ...each((model) => evaluateMlm(model, masked).accuracy),
      relation: "share",
      format: (v) => `${(100 * v).toFixed(2)}%`,
    },
  ];
  return [COMPARISON_HEADER, ...comparisonCells(rows)];
}
