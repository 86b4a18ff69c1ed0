// Reading the distillation commands' option values, with errors that name the option.

import { UserError } from "../errors.js";
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

export function backendChoice(value: string | undefined): BackendChoice {
  const choice = (value ?? "auto") as BackendChoice;
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new UserError(`--backend must be one of ${BACKEND_CHOICES.join(", ")}, got '${value}'`);
  }
  return choice;
}
