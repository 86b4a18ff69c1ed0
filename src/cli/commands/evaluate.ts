// `distilbert evaluate`: a model's scores on a labelled file, without training: the metrics
// `train --eval` reports, from the same code, with the same field options; or, with --task
// retrieval, an embedding model's BEIR-style retrieval metrics (src/retrieval/evaluate.ts).

import { parseArgs } from "node:util";
import { corpusForEvaluation } from "../../distill/eval-mlm.js";
import { RowMaskedLM } from "../../distill/row-mlm.js";
import { UserError } from "../../errors.js";
import { loadConfig } from "../../io/config.js";
import { Checkpoint } from "../../io/safetensors.js";
import { loadModel } from "../../models/index.js";
import { requireHead } from "../../pipelines/tasks.js";
import { DEFAULT_RERANK_DEPTH, evaluateRetrieval } from "../../retrieval/evaluate.js";
import { RETRIEVAL_METRICS } from "../../retrieval/metrics.js";
import { loadTokenizer } from "../../tokenizer/index.js";
import { readCorpusLines, readDataFile } from "../../train/data.js";
import { evaluate } from "../../train/evaluate.js";
import { encodeDataset, trainingLabelSet } from "../../train/features.js";
import { labelNames } from "../../train/labels.js";
import { maskedLmMetrics } from "../../train/masked-lm.js";
import { TASK_KINDS, TASKS } from "../../train/tasks.js";
import type { Command } from "../commands.js";
import { countProgress } from "../count-progress.js";
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
distilbert evaluate --model DIR --task retrieval --queries FILE --corpus FILE --qrels FILE [options]

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
  retrieval             an embedding model on a BEIR test set (below): ndcg@10, mrr@10,
                        recall@1, recall@10, recall@100, map@100 (also given as map, BEIR's name)

Options:
  --model DIR            the model folder
  --task TASK            ${TASK_KINDS.join(", ")}, masked-lm, retrieval
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

Retrieval (--task retrieval) reads BEIR's format:
  --queries FILE         JSON lines {"_id": "q1", "text": "..."}
  --corpus FILE          JSON lines {"_id": "d1", "title": "...", "text": "..."} (the title may be
                         missing or empty); a document is embedded as title + " " + text
  --qrels FILE           tab-separated, a header line query-id<TAB>corpus-id<TAB>score, then one
                         judgment a line: the score is the graded relevance, an integer (0: not
                         relevant); queries without a relevant document are not scored
  --dims N               keep the first N components of each embedding before normalizing
                         (Matryoshka evaluation), from 1 to the hidden size; default all
  --reranker DIR         a cross-encoder (a one-label sequence-classification model reading the
                         query and the document as a pair) that reorders each query's top K
  --top-k K              with --reranker: how many documents per query it rescores, default ${DEFAULT_RERANK_DEPTH}
  Documents and queries are embedded with the model's pooling (1_Pooling/config.json, else mean)
  and ranked by cosine similarity (exact search; ties go to the smaller document id). The
  metrics read each query's top 100 (BEIR's and pytrec_eval's definitions) and are averaged over
  the queries; --json prints them with the counts of queries and documents.

Examples:
  distilbert evaluate --model runs/spam --task text-classification \\
    --data data/tasks/spam.test.jsonl --json
  distilbert evaluate --task retrieval --model models/bert-mini-sotu \\
    --queries data/retrieval/sotu-ict-dev/queries.jsonl \\
    --corpus data/retrieval/sotu-ict-dev/corpus.jsonl \\
    --qrels data/retrieval/sotu-ict-dev/qrels/test.tsv --dims 64`;

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
  queries: { type: "string" },
  corpus: { type: "string" },
  qrels: { type: "string" },
  dims: { type: "string" },
  reranker: { type: "string" },
  "top-k": { type: "string" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];

/** The options of each kind of evaluation, refused with the other. */
const LABELLED_ONLY = [
  "data",
  "text-field",
  "text-pair-field",
  "label-field",
  "label-names",
  "max-length",
] as const;
const RETRIEVAL_ONLY = ["queries", "corpus", "qrels", "dims", "reranker", "top-k"] as const;

function refuse(values: Values, names: readonly (keyof Values)[], task: string): void {
  for (const name of names) {
    if (values[name] !== undefined) {
      throw new UserError(`--${name} does not apply to --task ${task}`);
    }
  }
}

async function runRetrieval(model: string, values: Values): Promise<number> {
  refuse(values, LABELLED_ONLY, "retrieval");
  if (values["top-k"] !== undefined && values.reranker === undefined) {
    throw new UserError(
      "--top-k is how many documents per query --reranker rescores: give --reranker too",
    );
  }
  const result = await evaluateRetrieval({
    model,
    queries: required("evaluate", "queries", values.queries),
    corpus: required("evaluate", "corpus", values.corpus),
    qrels: required("evaluate", "qrels", values.qrels),
    reranker: values.reranker,
    rerankDepth: positiveInt("top-k", values["top-k"]) ?? undefined,
    dims: positiveInt("dims", values.dims) ?? undefined,
    batchSize: positiveInt("batch-size", values["batch-size"]) ?? 32,
    backend: await backendFrom(values),
    dtype: dtypeChoice(values.dtype),
    onCorpusProgress: countProgress("documents embedded"),
  });
  if (values.json) {
    const line = { ...result.metrics, queries: result.queries, documents: result.documents };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    return 0;
  }
  const reranker = values.reranker
    ? `${values.reranker}, top ${values["top-k"] ?? DEFAULT_RERANK_DEPTH}`
    : "none";
  const rows = [
    ["model", model],
    ["queries", `${result.queries} (with a relevant document)`],
    ["documents", `${result.documents}`],
    ["dims", `${result.dims} of ${result.hiddenSize}`],
    ["reranker", reranker],
    ...RETRIEVAL_METRICS.map((name) => [name, result.metrics[name].toFixed(4)]),
  ];
  for (const [name, value] of rows) process.stdout.write(`${name.padEnd(12)}${value}\n`);
  return 0;
}

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS });
  const modelDir = required("evaluate", "model", values.model);
  const task = trainingTask("evaluate", values.task, ["retrieval"]);
  if (task === "retrieval") return runRetrieval(modelDir, values);
  refuse(values, RETRIEVAL_ONLY, task);
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
    requireHead(TASKS[task].head, task, config, modelDir);
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
