// `distilbert evaluate`: a model's scores on a labelled file, without training: the metrics
// `train --eval` reports, from the same code, with the same field options.

import { parseArgs } from "node:util";
import { corpusForEvaluation } from "../../distill/eval-mlm.js";
import { RowMaskedLM } from "../../distill/row-mlm.js";
import { UserError } from "../../errors.js";
import { loadConfig } from "../../io/config.js";
import { Checkpoint } from "../../io/safetensors.js";
import { loadModel } from "../../models/index.js";
import { loadTokenizer } from "../../tokenizer/index.js";
import { readCorpusLines, readDataFile } from "../../train/data.js";
import { evaluate } from "../../train/evaluate.js";
import { encodeDataset, trainingLabelSet } from "../../train/features.js";
import { labelNames } from "../../train/labels.js";
import { maskedLmMetrics } from "../../train/masked-lm.js";
import { TASK_KINDS, TASKS } from "../../train/tasks.js";
import type { Command } from "../commands.js";
import {
  backendFrom,
  dtypeChoice,
  dtypeHelp,
  maxLengthFor,
  positiveInt,
  required,
  taskFields,
  trainingTask,
} from "../options.js";

const help = `distilbert evaluate --model DIR --task TASK --data FILE [options]

Scores a model folder on a labelled file, as \`train --eval\` scores it during training (the same
code, so the numbers are equal): accuracy, F1 and the task's own metrics, and the loss.

Tasks, their fields (as in \`distilbert train --help\`) and metrics:
  text-classification   accuracy, f1 (binary; macro over classes otherwise), f1_macro, mcc
  regression            pearson, spearman, mse
  token-classification  seqeval's precision, recall, f1 and accuracy over entities
  question-answering    exact_match, f1 (SQuAD's)
  multiple-choice       accuracy
  masked-lm             accuracy and loss at the masked tokens, perplexity: the text (one
                        document a line, or JSON lines / CSV with --text-field) packed into rows
                        of --max-length tokens, 15% of them masked from a fixed seed

Options:
  --model DIR            the model folder
  --task TASK            ${TASK_KINDS.join(", ")}, masked-lm
  --data FILE            the labelled data (.jsonl or .csv; masked-lm: also a text file)
  --text-field NAME, --text-pair-field NAME, --label-field NAME   as in train
  --label-names A,B,...  names for integer labels 0, 1, ... (as in train)
  --max-length N         tokens per example (masked-lm: per row), default 128 (or the
                         model's max_position_embeddings if fewer)
  --batch-size N         examples per forward, default 32
  --json                 print one JSON line of the metrics
  --backend NAME         auto, native, wasm, reference (default auto)
  --threads N            worker threads
  ${dtypeHelp(23)}

Example:
  distilbert evaluate --model runs/spam --task text-classification \\
    --data data/tasks/spam.test.jsonl --json`;

const OPTIONS = {
  model: { type: "string" },
  task: { type: "string" },
  data: { type: "string" },
  "text-field": { type: "string" },
  "text-pair-field": { type: "string" },
  "label-field": { type: "string" },
  "label-names": { type: "string" },
  "max-length": { type: "string" },
  "batch-size": { type: "string" },
  json: { type: "boolean", default: false },
  backend: { type: "string" },
  threads: { type: "string" },
  dtype: { type: "string" },
} as const;

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS });
  const modelDir = required("evaluate", "model", values.model);
  const task = trainingTask("evaluate", values.task);
  const dataPath = required("evaluate", "data", values.data);
  const config = loadConfig(modelDir);
  const maxLength = maxLengthFor(values["max-length"], config.maxPositionEmbeddings);
  const batchSize = positiveInt("batch-size", values["batch-size"]) ?? 32;
  const dtype = dtypeChoice(values.dtype);
  const backend = await backendFrom(values);
  const tokenizer = loadTokenizer(modelDir);
  let metrics: Record<string, number>;
  if (task === "masked-lm") {
    const rows = corpusForEvaluation(
      readCorpusLines(dataPath, values["text-field"]),
      tokenizer,
      maxLength,
    );
    const model = RowMaskedLM.create(config, Checkpoint.open(modelDir), backend, modelDir, dtype);
    metrics = maskedLmMetrics(model, rows, batchSize);
  } else {
    const file = readDataFile(dataPath);
    const fields = taskFields(task, values);
    const modelNames = labelNames(config);
    const given = values["label-names"] ? values["label-names"].split(",") : null;
    const labels = trainingLabelSet(file, task, fields, modelNames, given);
    if (labels && labels.size !== config.numLabels) {
      throw new UserError(
        `${modelDir} has ${config.numLabels} labels but ${dataPath} gives ${labels.size} (${labels.describe()}): name them with --label-names`,
      );
    }
    const data = encodeDataset(file, tokenizer, { task, fields, maxLength, labels });
    const model = loadModel(modelDir, { backend, dtype, head: TASKS[task].head });
    metrics = evaluate(model, data, task, labels, batchSize, tokenizer.padTokenId);
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(metrics)}\n`);
  } else {
    const shown = Object.entries(metrics).map(([name, value]) => `${name} ${value.toFixed(4)}`);
    process.stdout.write(`${modelDir} on ${dataPath} (${task}): ${shown.join(", ")}\n`);
  }
  return 0;
}

export const evaluateCommand: Command = {
  summary: "score a model on a labelled file (the metrics of train --eval), no training",
  help,
  run,
};
