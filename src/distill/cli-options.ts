// Reading the distillation commands' option values, with errors that name the option.

import { UserError } from "../errors.js";
import { MODEL_DTYPES, type ModelDtype } from "../models/types.js";
import { BACKEND_CHOICES, type BackendChoice } from "../tensor/index.js";

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

/** The help line of --dtype, the same in every command that loads a model. */
export const DTYPE_HELP =
  "--dtype int8       quantize a float model's Linear weights and word embeddings to int8 as it loads (an int8 folder from `distilbert quantize` is int8 already)";

export function backendChoice(value: string | undefined): BackendChoice {
  const choice = (value ?? "auto") as BackendChoice;
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new UserError(`--backend must be one of ${BACKEND_CHOICES.join(", ")}, got '${value}'`);
  }
  return choice;
}
