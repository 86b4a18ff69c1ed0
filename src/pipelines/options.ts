// Reading the options a pipeline call takes (Hugging Face's snake_case names): unknown names and
// wrong types are the caller's mistakes, reported with what is accepted.

import { UserError } from "../errors.js";

export type OptionValues = Record<string, unknown>;

export class OptionReader {
  constructor(
    private readonly task: string,
    private readonly values: OptionValues,
    accepted: readonly string[],
  ) {
    if (values === null || typeof values !== "object" || Array.isArray(values)) {
      throw new UserError(`${task} options must be an object, got ${JSON.stringify(values)}`);
    }
    for (const key of Object.keys(values)) {
      if (!accepted.includes(key)) {
        throw new UserError(
          `${task} has no option '${key}'; its options are: ${accepted.join(", ")}`,
        );
      }
    }
  }

  has(key: string): boolean {
    return this.values[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.values[key];
  }

  private fail(key: string, expected: string): never {
    throw new UserError(
      `${this.task} option ${key} must be ${expected}, got ${JSON.stringify(this.values[key])}`,
    );
  }

  int(key: string, fallback: number, min = 1): number {
    const value = this.values[key] ?? fallback;
    if (!Number.isInteger(value) || (value as number) < min)
      this.fail(key, `a whole number >= ${min}`);
    return value as number;
  }

  /** A whole number, or null when the caller passed null (meaning "all"). */
  intOrNull(key: string, fallback: number | null, min = 1): number | null {
    if (this.values[key] === null) return null;
    if (this.values[key] === undefined) return fallback;
    return this.int(key, 0, min);
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.values[key] ?? fallback;
    if (typeof value !== "boolean") this.fail(key, "true or false");
    return value;
  }

  string(key: string, fallback: string): string {
    const value = this.values[key] ?? fallback;
    if (typeof value !== "string") this.fail(key, "a string");
    return value;
  }

  /** A list of strings; one string counts as a list of one. */
  strings(key: string, fallback: string[]): string[] {
    const value = this.values[key] ?? fallback;
    if (typeof value === "string") return [value];
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
      this.fail(key, "a string or a list of strings");
    }
    return value;
  }
}

/** The tokenizer options a pipeline passes on: HF's `truncation` and `max_length`. */
export interface Truncation {
  /** Absent: the tokenizer's default (truncate only when max_length is given, as transformers). */
  truncation: boolean | "longest_first" | "only_first" | "only_second" | undefined;
  maxLength: number | undefined;
}

export const TRUNCATION_OPTIONS = ["truncation", "max_length"] as const;

export function readTruncation(options: OptionReader): Truncation {
  const truncation = options.raw("truncation");
  if (
    truncation !== undefined &&
    typeof truncation !== "boolean" &&
    !["longest_first", "only_first", "only_second"].includes(truncation as string)
  ) {
    throw new UserError(
      `truncation must be true, false, "longest_first", "only_first" or "only_second", got ${JSON.stringify(truncation)}`,
    );
  }
  const maxLength = options.has("max_length") ? options.int("max_length", 0) : undefined;
  return { truncation: truncation as Truncation["truncation"], maxLength };
}
