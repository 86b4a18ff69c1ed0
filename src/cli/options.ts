// Reading the commands' option values, with errors that name the option: one reader of each
// kind for every command.

import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import { UserError } from "../errors.js";
import { POOLINGS, type Pooling } from "../models/pooling.js";
import { MODEL_DTYPES, type ModelDtype } from "../models/types.js";
import type { Backend } from "../tensor/backend.js";
import { BACKEND_CHOICES, type BackendChoice, createBackend } from "../tensor/index.js";
import { type Fields, TASK_KINDS, TASKS, type TaskKind } from "../train/tasks.js";

export function required(command: string, name: string, value: string | undefined): string {
  if (!value) throw new UserError(`${command} needs --${name} (see distilbert ${command} --help)`);
  return value;
}

export function positiveInt(name: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new UserError(`--${name} must be a whole number >= 1, got '${value}'`);
  }
  return number;
}

export function nonNegative(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0 || value.trim() === "") {
    throw new UserError(`--${name} must be a number >= 0, got '${value}'`);
  }
  return number;
}

/** "0,3" -> [0, 3] */
export function intList(name: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(",").map((item) => Number(item.trim()));
  if (items.length === 0 || items.some((item) => !Number.isInteger(item) || item < 0)) {
    throw new UserError(
      `--${name} takes comma-separated layer numbers such as 0,3; got '${value}'`,
    );
  }
  return items;
}

/** --dtype: how to hold a float model's weights; undefined leaves them as stored. */
export function dtypeChoice(value: string | undefined): ModelDtype | undefined {
  if (value === undefined) return undefined;
  if (!(MODEL_DTYPES as readonly string[]).includes(value)) {
    throw new UserError(`--dtype must be one of ${MODEL_DTYPES.join(", ")}, got '${value}'`);
  }
  return value as ModelDtype;
}

/**
 * The help of --dtype, the same in every command that loads a model: its description starts
 * `column` characters after the option's own indent, as the command's other options do, and wraps
 * before 100 characters.
 */
export function dtypeHelp(column: number): string {
  const words =
    "quantize a float model's Linear weights and word embeddings to int8 as it loads (a folder from `distilbert quantize` is int8 already)".split(
      " ",
    );
  const width = 100 - 2 - column;
  const lines = [""];
  for (const word of words) {
    const line = lines[lines.length - 1];
    if (line && line.length + 1 + word.length > width) lines.push(word);
    else lines[lines.length - 1] = line ? `${line} ${word}` : word;
  }
  const indent = " ".repeat(2 + column);
  return `${"--dtype int8".padEnd(column)}${lines.join(`\n${indent}`)}`;
}

export function backendChoice(value: string | undefined): BackendChoice {
  const choice = (value ?? "auto") as BackendChoice;
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new UserError(`--backend must be one of ${BACKEND_CHOICES.join(", ")}, got '${value}'`);
  }
  return choice;
}

/** The backend --backend and --threads ask for. */
export function backendFrom(values: { backend?: string; threads?: string }): Promise<Backend> {
  const threads = positiveInt("threads", values.threads) ?? undefined;
  return createBackend(backendChoice(values.backend), { threads });
}

/**
 * Refuses an --out that would lose data: one of the command's inputs (--model, --teacher, ...),
 * or a non-empty folder, unless it is the run's own folder being resumed or --overwrite is given.
 * `resumable` says whether the command has --resume, so the message offers it only where it exists.
 */
export function checkOutDir(
  outDir: string,
  inputs: (string | undefined)[],
  options: { resume?: string; overwrite?: boolean },
  resumable: boolean,
): void {
  const out = resolve(outDir);
  for (const input of inputs) {
    if (input !== undefined && existsSync(input) && resolve(input) === out) {
      throw new UserError(
        `--out ${outDir} is also an input of this run: write the result to a new folder`,
      );
    }
  }
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) {
    throw new UserError(`--out ${outDir} is a file: give a folder (new or empty)`);
  }
  if (!existsSync(outDir) || readdirSync(outDir).length === 0 || options.overwrite) return;
  if (options.resume !== undefined) {
    const resumed = resolve(options.resume);
    if (resumed === out || dirname(resumed) === out) return;
  }
  const choices = resumable
    ? `give a new folder, continue its run with --resume ${outDir}, or pass --overwrite to write over it`
    : "give a new folder, or pass --overwrite to write over it";
  throw new UserError(`--out ${outDir} is not empty: ${choices}`);
}

/**
 * Refuses an output file that is one of the command's inputs or lies in an input folder (a
 * model's own weights): the file is written atomically, but over data the user still needs.
 */
export function checkOutFile(option: string, outPath: string, inputs: string[]): void {
  const out = resolve(outPath);
  for (const input of inputs) {
    const full = resolve(input);
    if (out === full || out.startsWith(full + sep)) {
      throw new UserError(
        `--${option} ${outPath} would write over ${input}, an input of this command: give another path`,
      );
    }
  }
}

/** --task of train and evaluate: a fine-tuning task, masked-lm, or one of the command's `extra`. */
export function trainingTask<Extra extends string = never>(
  command: string,
  value: string | undefined,
  extra: readonly Extra[] = [],
): TaskKind | "masked-lm" | Extra {
  const task = required(command, "task", value);
  const known: readonly string[] = [...TASK_KINDS, "masked-lm", ...extra];
  if (!known.includes(task)) {
    throw new UserError(`--task must be one of ${known.join(", ")}; got '${task}'`);
  }
  return task as TaskKind | "masked-lm" | Extra;
}

/** "256,128,64" -> [256, 128, 64]: whole numbers >= 1. */
export function positiveIntList(name: string, value: string | undefined): number[] {
  if (value === undefined) return [];
  const items = value.split(",").map((item) => Number(item.trim()));
  if (items.some((item) => !Number.isInteger(item) || item < 1)) {
    throw new UserError(
      `--${name} takes comma-separated whole numbers such as 256,128,64; got '${value}'`,
    );
  }
  return items;
}

/** The data fields a task reads: --text-field, --text-pair-field, --label-field or its defaults. */
export function taskFields(
  task: TaskKind,
  values: { "text-field"?: string; "text-pair-field"?: string; "label-field"?: string },
): Fields {
  const defaults = TASKS[task].defaultFields;
  return {
    text: values["text-field"] ?? defaults.text,
    pair: values["text-pair-field"] ?? defaults.pair,
    label: values["label-field"] ?? defaults.label,
  };
}

/**
 * An option counting tokens per sequence (--max-length, --seq-len), or null when not given. More
 * than the model has positions for is refused before any work starts: the first long batch would
 * fail.
 */
export function tokensOption(
  name: string,
  value: string | undefined,
  maxPositionEmbeddings: number,
): number | null {
  const given = positiveInt(name, value);
  if (given !== null && given > maxPositionEmbeddings) {
    throw new UserError(
      `--${name} ${given} is more than the model reads (max_position_embeddings ${maxPositionEmbeddings} in its config.json): give at most ${maxPositionEmbeddings}`,
    );
  }
  return given;
}

/** --max-length, by default 128 tokens or what the model reads if fewer. */
export function maxLengthFor(value: string | undefined, maxPositionEmbeddings: number): number {
  return (
    tokensOption("max-length", value, maxPositionEmbeddings) ?? Math.min(128, maxPositionEmbeddings)
  );
}

/** --pooling: how token states become one sentence vector. */
export function poolingChoice(value: string): Pooling {
  if (!(POOLINGS as readonly string[]).includes(value)) {
    throw new UserError(`--pooling must be one of ${POOLINGS.join(", ")}, got '${value}'`);
  }
  return value as Pooling;
}
