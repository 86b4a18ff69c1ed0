// `distilbert compare`: a teacher and its student side by side (DistilBERT's paper's table).

import { parseArgs } from "node:util";
import {
  countParameters,
  int8WeightBytes,
  measureSpeed,
  weightBytes,
} from "../../distill/compare.js";
import { type ComparisonRow, comparisonTable } from "../../distill/comparison.js";
import { corpusForEvaluation, evaluateMlm } from "../../distill/eval-mlm.js";
import { RowMaskedLM } from "../../distill/row-mlm.js";
import { UserError } from "../../errors.js";
import { loadConfig } from "../../io/config.js";
import { Checkpoint } from "../../io/safetensors.js";
import { loadModel, type ModelDtype } from "../../models/index.js";
import type { Backend } from "../../tensor/backend.js";
import { loadTokenizer } from "../../tokenizer/index.js";
import { readCorpusLines, readDataFile } from "../../train/data.js";
import { evaluate } from "../../train/evaluate.js";
import { encodeDataset } from "../../train/features.js";
import { LabelSet } from "../../train/labels.js";
import { TASKS } from "../../train/tasks.js";
import type { Command } from "../commands.js";
import { backendFrom, positiveInt, required } from "../options.js";

const help = `distilbert compare --teacher DIR --student DIR [options]

Puts a teacher and its distilled student side by side, as DistilBERT's paper does: parameters,
weights on disk, CPU latency of one 1 x 128 sequence and throughput at 32 x 128 (the encoder's
forward, median of --repeats runs after a warm-up), masked-token accuracy on a corpus (as
eval-mlm: 15% of the tokens masked from a fixed seed), and the scores of a fine-tuned teacher and
student pair on a text-classification file. A third column gives the same for the student
quantized to int8 (as \`distilbert quantize\` writes it). Timings depend on what else the machine
runs.

Options:
  --teacher DIR        the teacher (BertForMaskedLM or DistilBertForMaskedLM)
  --student DIR        the student
  --corpus FILE        score masked-token accuracy on this text (one text a line)
  --task-teacher DIR   a fine-tuned teacher classifier ...
  --task-student DIR   ... and student, scored on
  --eval FILE          JSON lines or CSV with 'text' and 'label' fields
  --repeats N          timed runs per measurement (default 5)
  --json               print the numbers as JSON instead of a table
  --backend NAME       auto, native, wasm, reference (default auto)
  --threads N          worker threads

Example:
  distilbert compare --teacher models/bert-mini-sotu --student models/distilbert-mini-sotu \\
    --corpus data/corpus.eval.txt`;

function taskScores(dir: string, evalPath: string, backend: Backend, dtype?: ModelDtype) {
  const model = loadModel(dir, { backend, dtype });
  if (model.head !== "sequence-classification") {
    throw new UserError(`${dir} is a ${model.architecture}, not a sequence classifier`);
  }
  const config = loadConfig(dir);
  const labels = new LabelSet(
    Array.from({ length: config.numLabels }, (_, id) => config.id2label[id]),
  );
  const tokenizer = loadTokenizer(dir);
  const task = "text-classification";
  const data = encodeDataset(readDataFile(evalPath), tokenizer, {
    task,
    fields: TASKS[task].defaultFields,
    maxLength: 128,
    labels,
  });
  return evaluate(model, data, task, labels, 32, tokenizer.padTokenId);
}

const percent = (value: number) => `${(100 * value).toFixed(2)}%`;

export const compare: Command = {
  summary: "a teacher and its student side by side: size, speed, accuracy",
  help,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        teacher: { type: "string" },
        student: { type: "string" },
        corpus: { type: "string" },
        "task-teacher": { type: "string" },
        "task-student": { type: "string" },
        eval: { type: "string" },
        repeats: { type: "string" },
        json: { type: "boolean", default: false },
        backend: { type: "string" },
        threads: { type: "string" },
      },
    });
    const teacherDir = required("compare", "teacher", values.teacher);
    const studentDir = required("compare", "student", values.student);
    const taskDirs = [values["task-teacher"], values["task-student"], values.eval];
    if (taskDirs.some((v) => v !== undefined) && taskDirs.some((v) => v === undefined)) {
      throw new UserError(
        "downstream scores need all of --task-teacher, --task-student and --eval",
      );
    }
    const backend = await backendFrom(values);
    const repeats = positiveInt("repeats", values.repeats) ?? 5;
    const dirs = { teacher: teacherDir, student: studentDir };
    const rows: ComparisonRow[] = [];
    // The teacher and the student as stored, and the student quantized to int8.
    const columns = (fn: (dir: string, dtype?: ModelDtype) => number) => ({
      teacher: fn(dirs.teacher),
      student: fn(dirs.student),
      studentInt8: fn(dirs.student, "int8"),
    });
    const layers = columns((dir) => loadConfig(dir).numLayers);
    rows.push({ what: "layers", ...layers, relation: "share", format: String });
    rows.push({
      what: "parameters",
      ...columns(countParameters),
      relation: "share",
      format: (v) => `${(v / 1e6).toFixed(2)}M`,
    });
    rows.push({
      what: "weights on disk",
      ...columns((dir, dtype) => (dtype === "int8" ? int8WeightBytes(dir) : weightBytes(dir))),
      relation: "share",
      format: (v) => `${(v / 2 ** 20).toFixed(1)} MiB`,
    });
    const speed = {
      teacher: measureSpeed(teacherDir, backend, { seq: 128, batch: 32, repeats }),
      student: measureSpeed(studentDir, backend, { seq: 128, batch: 32, repeats }),
      studentInt8: measureSpeed(studentDir, backend, {
        seq: 128,
        batch: 32,
        repeats,
        dtype: "int8",
      }),
    };
    rows.push({
      what: "latency, 1 x 128 tokens",
      teacher: speed.teacher.latencyMs,
      student: speed.student.latencyMs,
      studentInt8: speed.studentInt8.latencyMs,
      relation: "time",
      format: (v) => `${v.toFixed(1)} ms`,
    });
    rows.push({
      what: "throughput, 32 x 128 tokens",
      teacher: speed.teacher.throughput,
      student: speed.student.throughput,
      studentInt8: speed.studentInt8.throughput,
      relation: "rate",
      format: (v) => `${v.toFixed(1)} seq/s`,
    });
    if (values.corpus) {
      const tokenizer = loadTokenizer(teacherDir);
      const masked = corpusForEvaluation(readCorpusLines(values.corpus), tokenizer, 128);
      const accuracy = columns(
        (dir, dtype) =>
          evaluateMlm(
            RowMaskedLM.create(loadConfig(dir), Checkpoint.open(dir), backend, dir, dtype),
            masked,
          ).accuracy,
      );
      rows.push({ what: "masked-token accuracy", ...accuracy, relation: "share", format: percent });
    }
    if (values.eval) {
      const evalPath = values.eval;
      const teacher = taskScores(values["task-teacher"] as string, evalPath, backend);
      const student = taskScores(values["task-student"] as string, evalPath, backend);
      const studentInt8 = taskScores(values["task-student"] as string, evalPath, backend, "int8");
      for (const metric of ["accuracy", "f1"]) {
        rows.push({
          what: `${metric} on ${evalPath}`,
          teacher: teacher[metric],
          student: student[metric],
          studentInt8: studentInt8[metric],
          relation: "share",
          format: percent,
        });
      }
    }
    if (values.json) {
      const out = Object.fromEntries(
        rows.map((row) => [
          row.what,
          { teacher: row.teacher, student: row.student, student_int8: row.studentInt8 },
        ]),
      );
      process.stdout.write(
        `${JSON.stringify({ backend: backend.name, threads: backend.threads, ...out }, null, 2)}\n`,
      );
    } else {
      process.stdout.write(
        `${teacherDir} (teacher) vs ${studentDir} (student), ${backend.name} backend, ${backend.threads} threads\n\n${comparisonTable(rows)}\n`,
      );
    }
    return 0;
  },
};
