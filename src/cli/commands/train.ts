// `distilbert train`: fine-tune a Hugging Face model folder on a task, writing a Hugging Face
// folder with the best model and resumable checkpoints.

import { parseArgs } from "node:util";
import { corpusForEvaluation } from "../../distill/eval-mlm.js";
import { Masker, packCorpus } from "../../distill/mlm-data.js";
import { RowMaskedLM } from "../../distill/row-mlm.js";
import { UserError } from "../../errors.js";
import { loadConfig } from "../../io/config.js";
import { Checkpoint } from "../../io/safetensors.js";
import { RETRIEVAL_METRICS } from "../../retrieval/metrics.js";
import {
  DEFAULT_PAIR_FIELDS,
  inverseClozePairs,
  pairsFromFile,
  type TextPair,
} from "../../retrieval/pairs.js";
import {
  DEFAULT_EMBEDDING_RECIPE,
  DEFAULT_RERANKER_RECIPE,
  type RetrievalRun,
  trainEmbeddingModel,
  trainRerankerModel,
} from "../../retrieval/recipes.js";
import { DEFAULT_SETFIT_ITERATIONS } from "../../setfit/pairs.js";
import { type LabelledTexts, SETFIT_METRICS, trainSetFit } from "../../setfit/recipe.js";
import type { Backend } from "../../tensor/backend.js";
import { BACKEND_CHOICES } from "../../tensor/index.js";
import { loadTokenizer, type Tokenizer } from "../../tokenizer/index.js";
import {
  type LoadedCheckpoint,
  readCheckpoint,
  resolveCheckpoint,
} from "../../train/checkpoint.js";
import { readCorpusLines, readDataFile } from "../../train/data.js";
import type { DataFile } from "../../train/data-format.js";
import {
  type EncodeSettings,
  encodeDataset,
  requireSeveralLabels,
  textField,
  trainingLabelSet,
} from "../../train/features.js";
import { type LabelSet, labelNames } from "../../train/labels.js";
import type { LoopOptions, LoopResult } from "../../train/loop.js";
import { MASKED_LM, pretrainMaskedLm, saveMaskedLm } from "../../train/masked-lm.js";
import { prepareModel } from "../../train/model-setup.js";
import { createReporter } from "../../train/progress.js";
import type { Reporter } from "../../train/reporter.js";
import { folderStore } from "../../train/run-store.js";
import { SCHEDULE_KINDS, type ScheduleKind } from "../../train/schedule.js";
import { TASK_KINDS, TASKS } from "../../train/tasks.js";
import { train } from "../../train/trainer.js";
import type { Command } from "../commands.js";
import {
  backendFrom,
  checkOutDir,
  maxLengthFor,
  nonNegative,
  poolingChoice,
  positiveInt,
  positiveIntList,
  required,
  taskFields,
  trainingTask,
} from "../options.js";

const RETRIEVAL_TASKS = ["sentence-embedding", "reranker"] as const;
type RetrievalTask = (typeof RETRIEVAL_TASKS)[number];

const help = `distilbert train --model DIR --task TASK --train FILE [--eval FILE] --out DIR [options]

Fine-tunes a Hugging Face DistilBERT or BERT folder, as Hugging Face's Trainer does: AdamW (no
weight decay on biases and LayerNorm weights), a warm-up then linear decay of the learning rate,
gradient clipping at norm 1, dynamic padding with batches grouped by length. A new head on a
pretrained encoder (e.g. a masked-LM checkpoint) is initialised as Hugging Face initialises it.

--task masked-lm continues the masked-LM pretraining of a ...ForMaskedLM folder on your own
corpus (Hugging Face's run_mlm.py): the text is tokenized and packed into rows of --max-length
tokens, and every batch is masked afresh (--mlm-probability of the tokens; of those 80% [MASK],
10% a random token, 10% kept). --eval scores masked-token accuracy, loss and perplexity on fixed
masks (as \`distilbert evaluate\`); the result is a masked-LM folder for predict fill-mask,
distill and train.

--task sentence-embedding trains an embedding model (for search, RAG, clustering), as
sentence-transformers does: pairs of texts that belong together (a question and its answer, a
title and its article) pulled close and the batch's other texts pushed away
(MultipleNegativesRankingLoss, in-batch negatives, scale 20), or scored pairs (--score-field) fitted
by CoSENT. The result is a sentence-transformers folder (modules.json, 1_Pooling, ...) that Python's
SentenceTransformer loads, and that feature-extraction, semantic search and serve's /embed and
/v1/embeddings use with its pooling.

--task reranker trains a cross-encoder (query and passage read together, one relevance logit;
Hugging Face's sequence classification with one label) by binary cross-entropy: on labelled pairs
(--score-field: 1 relevant, 0 not, or in between), or on anchor/positive pairs, each with
--negatives negatives mined by an embedding model (--mine-negatives-with) or drawn at random.

--task setfit trains a classifier from a few labelled rows (SetFit, Tunstall et al. 2022): the
embedding model --model (e.g. one from --task sentence-embedding; its own pooling) is fine-tuned on
pairs of rows, for each row --iterations pairs with another row of its label (target 1) and as
many with rows of other labels (target 0), by CosineSimilarityLoss; then a logistic regression
(scikit-learn's defaults: L2, C = 1) is fitted on the rows' normalised embeddings. The result is
a sequence classifier that predict text-classification, evaluate, serve, quantize and export use
as any other, its head SetFit's (pooled, normalised embedding -> logistic regression) by
config.json's classifier_pooling, a field of ours (transformers would put its pooler there
instead); it stays a sentence-transformers embedding model too. --eval classifies held-out rows
with a head fitted at each evaluation.

--pairs-from ict makes pairs from plain passages (a text file, one passage a line, or
--text-field of a JSON-lines/CSV file) by the inverse cloze task: one sentence of each passage is
the anchor, the rest of the passage its positive. Any corpus becomes training data.

--out DIR becomes a Hugging Face model folder: config.json (with id2label/label2id and the
task's architecture, e.g. BertForSequenceClassification), model.safetensors and the tokenizer
files. With --eval it holds the best model by --metric; every evaluation is appended to
DIR/eval_log.jsonl. DIR/checkpoint-N/ holds the latest checkpoint (model, optimizer, schedule,
RNG and data position); --resume DIR continues from it exactly as if never stopped.

Tasks and the fields they read (JSON lines, or CSV with a header row):
  masked-lm             a text file, one document a line; or JSON lines / CSV, --text-field
                        (text)
  text-classification   --text-field (text), --text-pair-field (none), --label-field (label):
                        an integer id or a label name
  regression            the same fields; the label is a number
  token-classification  --text-field (tokens): a list of words; --label-field (ner_tags): a
                        label per word (the first sub-token of a word is trained on it)
  question-answering    --text-field (question), --text-pair-field (context), --label-field
                        (answers): {"text": [...], "answer_start": [character offsets]}
  multiple-choice       --text-field (question), --text-pair-field (choices): a list of
                        strings, --label-field (label): the index of the right choice
  sentence-embedding,   --anchor-field (anchor), --positive-field (positive), optional
  reranker              --negative-field (a hard negative) or --score-field (a gold score);
                        or --pairs-from ict
  setfit                --text-field (text), --label-field (label): as text-classification

Options:
  --model DIR            the model to start from (config.json, model.safetensors, tokenizer)
  --task TASK            ${[...TASK_KINDS, "masked-lm", ...RETRIEVAL_TASKS, "setfit"].join(", ")}
  --train FILE           training data (.jsonl, or .csv); sentence-embedding and reranker take
                         several (--train A --train B: their pairs together)
  --eval FILE            evaluation data, scored at the end of every epoch (or --eval-every)
  --out DIR              output folder (created); refused if it is --model, or not empty
                         unless resuming its run or with --overwrite
  --overwrite            write into a non-empty --out
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
  --max-length N         tokens per example (masked-lm: per packed row), default 128 (or
                         the model's max_position_embeddings if fewer)
  --mlm-probability X    masked-lm: share of the tokens masked, default 0.15
  --grad-accum N         batches per optimizer step, default 1
  --max-grad-norm X      clipping norm, default 1
  --seed N               default 42
  --eval-every N         evaluate every N steps instead of every epoch
  --early-stopping N     stop after N evaluations without a better --metric
  --metric NAME          picks the best model: accuracy (default for classification), f1,
                         f1_macro, mcc, pearson, spearman, mse, exact_match, loss
                         (masked-lm: loss (default), accuracy, perplexity; setfit: no loss)
  --anchor-field NAME, --positive-field NAME, --negative-field NAME, --score-field NAME
                         sentence-embedding and reranker: see above
  --pairs-from ict       make the pairs from passages (see above)
  --pooling NAME         sentence-embedding: mean or cls (default: the model folder's own, else
                         mean)
  --matryoshka-dims LIST sentence-embedding: also train prefixes of the vectors (e.g.
                         128,64,32), so that they can be cut to those sizes (Matryoshka loss)
  --mini-batch-size N    sentence-embedding: embed the batch N texts at a time (GradCache), so
                         --batch-size (the in-batch negatives) can be larger than what fits in
                         memory at once, for one more forward pass
  --negatives N          reranker: negatives per anchor/positive pair, default ${DEFAULT_RERANKER_RECIPE.negatives}
  --iterations N         setfit: pairs of each row with its label (and as many with others),
                         default ${DEFAULT_SETFIT_ITERATIONS}
  --mine-negatives-with DIR   reranker: an embedding model that picks hard negatives (the other
                         positives it ranks highest for the anchor)
  --save-every N         write a checkpoint every N steps (always at the end)
  --resume DIR           continue from DIR's latest checkpoint (or a checkpoint folder); give
                         the same options as the first run
  --fp16                 write the output model's weights in float16 (checkpoints stay float32)
  --backend NAME         ${BACKEND_CHOICES.join(", ")} (default auto: the fastest available)
  --threads N            worker threads (default: the machine's cores)

Example:
  distilbert train --model models/bert-mini-sotu --task text-classification \\
    --train data/tasks/spam.train.jsonl --eval data/tasks/spam.dev.jsonl \\
    --epochs 3 --batch-size 32 --lr 1e-4 --out runs/spam
  distilbert train --model models/bert-mini-sotu --task masked-lm \\
    --train data/corpus.train.txt --eval data/corpus.eval.txt --epochs 1 --out runs/sotu-mlm
  distilbert train --model models/bert-mini-sotu --task sentence-embedding \\
    --train data/tasks/sotu-party.train.jsonl --pairs-from ict --matryoshka-dims 128,64 \\
    --epochs 1 --lr 1e-4 --out runs/sotu-embed
  distilbert train --model models/bert-mini-sotu-embed --task setfit \\
    --train data/fewshot/spam-8-per-class.jsonl --label-names ham,spam --iterations 20 \\
    --epochs 1 --batch-size 16 --lr 1e-4 --out runs/spam-setfit`;

const OPTIONS = {
  model: { type: "string" },
  task: { type: "string" },
  train: { type: "string", multiple: true },
  eval: { type: "string" },
  out: { type: "string" },
  overwrite: { type: "boolean" },
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
  "mlm-probability": { type: "string" },
  "grad-accum": { type: "string" },
  "max-grad-norm": { type: "string" },
  seed: { type: "string" },
  "eval-every": { type: "string" },
  "early-stopping": { type: "string" },
  metric: { type: "string" },
  "save-every": { type: "string" },
  "anchor-field": { type: "string" },
  "positive-field": { type: "string" },
  "negative-field": { type: "string" },
  "score-field": { type: "string" },
  "pairs-from": { type: "string" },
  pooling: { type: "string" },
  "matryoshka-dims": { type: "string" },
  "mini-batch-size": { type: "string" },
  negatives: { type: "string" },
  iterations: { type: "string" },
  "mine-negatives-with": { type: "string" },
  resume: { type: "string" },
  fp16: { type: "boolean" },
  backend: { type: "string" },
  threads: { type: "string" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];

/** What every task shares: the run's files, backend, loop options and progress. */
interface Run {
  modelDir: string;
  outDir: string;
  trainPath: string;
  /** Every --train file (sentence-embedding and reranker take several; the others one). */
  trainPaths: string[];
  maxLength: number;
  batchSize: number;
  backend: Backend;
  resume: LoadedCheckpoint | null;
  loop: Omit<LoopOptions, "timeBudget">;
  reporter: Reporter;
  /** Output weights: float16 with --fp16 in the final folder, float32 in checkpoints. */
  dtype(dir: string): "F32" | "F16";
}

async function prepareRun(values: Values, metrics: readonly string[], defaultMetric: string) {
  const need = (name: string, value: string | undefined) => required("train", name, value);
  const modelDir = need("model", values.model);
  const outDir = need("out", values.out);
  const trainPaths = values.train ?? [];
  checkOutDir(outDir, [modelDir, ...trainPaths, values.eval], values, true);
  const schedule = (values.schedule ?? "linear") as ScheduleKind;
  if (!SCHEDULE_KINDS.includes(schedule)) {
    throw new UserError(`--schedule must be one of ${SCHEDULE_KINDS.join(", ")}`);
  }
  const metric = values.metric ?? defaultMetric;
  if (!metrics.includes(metric)) {
    throw new UserError(
      `--metric ${metric} is not computed for ${values.task}; choose one of ${metrics.join(", ")}`,
    );
  }
  const trainPath = need("train", trainPaths[0]);
  if (
    trainPaths.length > 1 &&
    !(RETRIEVAL_TASKS as readonly string[]).includes(values.task ?? "")
  ) {
    throw new UserError(
      `--train is given once for ${values.task}; only ${RETRIEVAL_TASKS.join(" and ")} read several files`,
    );
  }
  const backend = await backendFrom(values);
  const resume = values.resume ? readCheckpoint(resolveCheckpoint(values.resume)) : null;
  const run: Run = {
    modelDir,
    outDir,
    trainPath,
    trainPaths,
    maxLength: maxLengthFor(values["max-length"], loadConfig(modelDir).maxPositionEmbeddings),
    batchSize: positiveInt("batch-size", values["batch-size"]) ?? 32,
    backend,
    resume,
    loop: {
      epochs: positiveInt("epochs", values.epochs) ?? 3,
      steps: positiveInt("max-steps", values["max-steps"]),
      gradAccum: positiveInt("grad-accum", values["grad-accum"]) ?? 1,
      lr: nonNegative("lr", values.lr, 5e-5),
      schedule,
      warmupRatio: nonNegative("warmup-ratio", values["warmup-ratio"], 0.1),
      weightDecay: nonNegative("weight-decay", values["weight-decay"], 0.01),
      decayAll: values["decay-all"] ?? false,
      adamEps: 1e-8,
      maxGradNorm: nonNegative("max-grad-norm", values["max-grad-norm"], 1),
      seed: nonNegative("seed", values.seed, 42),
      evalEvery: positiveInt("eval-every", values["eval-every"]),
      earlyStopping: positiveInt("early-stopping", values["early-stopping"]),
      metric,
      saveEvery: positiveInt("save-every", values["save-every"]),
      store: folderStore(outDir),
    },
    reporter: createReporter(),
    dtype: (dir) => (values.fp16 && dir === outDir ? "F16" : "F32"),
  };
  return run;
}

function finished(run: Run, result: LoopResult) {
  const best =
    result.bestMetric === null
      ? ""
      : `; best ${run.loop.metric} ${result.bestMetric.toFixed(4)} at step ${result.bestStep}`;
  run.reporter.message(
    `done: ${result.steps.length} steps in ${result.trainSeconds.toFixed(1)} s of training${best}; model in ${run.outDir}`,
  );
}

async function fineTune(values: Values, task: (typeof TASK_KINDS)[number]): Promise<number> {
  const info = TASKS[task];
  const run = await prepareRun(values, info.metrics, info.defaultMetric);
  const fields = taskFields(task, values);
  const tokenizer = loadTokenizer(run.modelDir);
  const config = loadConfig(run.modelDir);
  const trainFile = readDataFile(run.trainPath);
  const modelNames = labelNames(config);
  const labels = trainingLabelSet(
    trainFile,
    task,
    fields,
    modelNames,
    values["label-names"] ? values["label-names"].split(",") : null,
  );
  requireSeveralLabels(trainFile, task, fields);
  const settings = { task, fields, maxLength: run.maxLength, labels };
  const trainData = encodeDataset(trainFile, tokenizer, settings);
  const evalData = values.eval
    ? encodeDataset(readDataFile(values.eval), tokenizer, settings)
    : null;
  const { resume, reporter, backend } = run;
  const prepared = prepareModel(run.modelDir, task, labels, backend, run.loop.seed, resume?.dir);
  reporter.message(
    `${prepared.model.architecture} on ${backend.name} (${backend.threads} threads): ${trainData.features.length} training features${evalData ? `, ${evalData.features.length} for evaluation` : ""}${labels ? `, labels ${labels.describe()}` : ""}`,
  );
  if (resume) reporter.message(`resuming from ${resume.dir} (step ${resume.state.step})`);
  const result = train(
    {
      model: prepared.model,
      writeFolder: (dir) => prepared.writeFolder(dir, run.dtype(dir)),
      train: trainData,
      eval: evalData,
      labels,
      padId: tokenizer.padTokenId,
      reporter,
    },
    { ...run.loop, task, batchSize: run.batchSize, maxSteps: run.loop.steps },
    resume,
  );
  finished(run, result);
  return 0;
}

async function pretrain(values: Values): Promise<number> {
  const run = await prepareRun(values, MASKED_LM.metrics, MASKED_LM.defaultMetric);
  const { resume, reporter, backend } = run;
  const tokenizer = loadTokenizer(run.modelDir);
  const textField = values["text-field"] ?? "text";
  const probability = nonNegative("mlm-probability", values["mlm-probability"], 0.15);
  if (probability === 0 || probability > 1) {
    throw new UserError(`--mlm-probability must be above 0 and at most 1, got ${probability}`);
  }
  const rows = packCorpus(readCorpusLines(run.trainPath, textField), tokenizer, run.maxLength);
  const evalRows = values.eval
    ? corpusForEvaluation(readCorpusLines(values.eval, textField), tokenizer, run.maxLength)
    : null;
  const weightsDir = resume?.dir ?? run.modelDir;
  const config = loadConfig(run.modelDir);
  const model = RowMaskedLM.create(config, Checkpoint.open(weightsDir), backend, weightsDir);
  const masker = Masker.forTokenizer(tokenizer, probability);
  reporter.message(
    `masked-LM pretraining of ${run.modelDir} on ${backend.name} (${backend.threads} threads): ${rows.count} rows of ${run.maxLength} tokens${evalRows ? `, ${evalRows.count} for evaluation` : ""}`,
  );
  if (resume) reporter.message(`resuming from ${resume.dir} (step ${resume.state.step})`);
  const result = pretrainMaskedLm(
    model,
    { rows, masker, padTokenId: tokenizer.padTokenId, eval: evalRows },
    { ...run.loop, batchSize: run.batchSize, mlmProbability: probability },
    (dir) => saveMaskedLm(model, run.modelDir, dir, run.dtype(dir)),
    reporter,
    resume,
  );
  finished(run, result);
  return 0;
}

/**
 * The pairs of data files (the same every epoch), or made from their passages by the inverse cloze
 * task (another sentence taken out every epoch).
 */
function readPairs(paths: string[], values: Values, seed: number): (epoch: number) => TextPair[] {
  if (values["pairs-from"] === undefined) {
    const pairs = paths.flatMap((path) =>
      pairsFromFile(readDataFile(path), {
        anchor: values["anchor-field"] ?? DEFAULT_PAIR_FIELDS.anchor,
        positive: values["positive-field"] ?? DEFAULT_PAIR_FIELDS.positive,
        negative: values["negative-field"] ?? DEFAULT_PAIR_FIELDS.negative,
        score: values["score-field"] ?? DEFAULT_PAIR_FIELDS.score,
      }),
    );
    return () => pairs;
  }
  if (values["pairs-from"] !== "ict") {
    throw new UserError(
      `--pairs-from takes ict (the inverse cloze task), got '${values["pairs-from"]}'`,
    );
  }
  const passages = paths.flatMap((path) => readCorpusLines(path, values["text-field"] ?? "text"));
  return (epoch) => inverseClozePairs(passages, seed, epoch);
}

async function retrieval(values: Values, task: RetrievalTask): Promise<number> {
  const run = await prepareRun(values, RETRIEVAL_METRICS, "ndcg@10");
  const retrievalRun: RetrievalRun = {
    modelDir: run.modelDir,
    backend: run.backend,
    pairs: readPairs(run.trainPaths, values, run.loop.seed),
    evalPairs: values.eval ? readPairs([values.eval], values, run.loop.seed)(0) : null,
    batchSize: run.batchSize,
    maxLength: run.maxLength,
    storage: run.dtype,
    loop: run.loop,
    reporter: run.reporter,
    resume: run.resume,
  };
  if (run.resume)
    run.reporter.message(`resuming from ${run.resume.dir} (step ${run.resume.state.step})`);
  const result =
    task === "sentence-embedding"
      ? trainEmbeddingModel(retrievalRun, {
          pooling: values.pooling === undefined ? null : poolingChoice(values.pooling),
          scale: DEFAULT_EMBEDDING_RECIPE.scale,
          matryoshkaDims: positiveIntList("matryoshka-dims", values["matryoshka-dims"]),
          miniBatchSize: positiveInt("mini-batch-size", values["mini-batch-size"]),
        })
      : await trainRerankerModel(retrievalRun, {
          negatives:
            positiveInt("negatives", values.negatives) ?? DEFAULT_RERANKER_RECIPE.negatives,
          mineWith: values["mine-negatives-with"] ?? DEFAULT_RERANKER_RECIPE.mineWith,
        });
  finished(run, result);
  return 0;
}

/** A classification file's rows as texts and label ids, read as text-classification reads them. */
function labelledTexts(
  file: DataFile,
  settings: EncodeSettings,
  tokenizer: Tokenizer,
): LabelledTexts {
  const dataset = encodeDataset(file, tokenizer, settings);
  return {
    texts: file.rows.map((row) => textField(file, row, settings.fields.text)),
    labels: dataset.features.map((feature) => feature.label as number),
  };
}

async function setFit(values: Values): Promise<number> {
  const run = await prepareRun(values, SETFIT_METRICS, "accuracy");
  const fields = taskFields("text-classification", values);
  if (fields.pair !== null) {
    throw new UserError("--task setfit classifies single texts: it takes no --text-pair-field");
  }
  const trainFile = readDataFile(run.trainPath);
  const labels = trainingLabelSet(
    trainFile,
    "text-classification",
    fields,
    labelNames(loadConfig(run.modelDir)),
    values["label-names"] ? values["label-names"].split(",") : null,
  ) as LabelSet;
  const settings: EncodeSettings = {
    task: "text-classification",
    fields,
    maxLength: run.maxLength,
    labels,
  };
  const tokenizer = loadTokenizer(run.modelDir);
  if (run.resume)
    run.reporter.message(`resuming from ${run.resume.dir} (step ${run.resume.state.step})`);
  const result = trainSetFit({
    modelDir: run.modelDir,
    backend: run.backend,
    train: labelledTexts(trainFile, settings, tokenizer),
    labelNames: labels.names,
    eval: values.eval ? labelledTexts(readDataFile(values.eval), settings, tokenizer) : null,
    iterations: positiveInt("iterations", values.iterations) ?? DEFAULT_SETFIT_ITERATIONS,
    batchSize: run.batchSize,
    maxLength: run.maxLength,
    storage: run.dtype,
    loop: run.loop,
    reporter: run.reporter,
    resume: run.resume,
  });
  finished(run, result);
  return 0;
}

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS });
  const task = trainingTask("train", values.task, [...RETRIEVAL_TASKS, "setfit"] as const);
  if (task === "setfit") return setFit(values);
  if (task === "sentence-embedding" || task === "reranker") return retrieval(values, task);
  return task === "masked-lm" ? pretrain(values) : fineTune(values, task);
}

export const trainCommand: Command = {
  summary: "fine-tune a model on a task (classification, NER, QA, ...), resumable",
  help,
  run,
};
