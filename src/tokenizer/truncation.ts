// Truncation exactly as Hugging Face's Rust tokenizers: how many tokens each sequence keeps
// (longest_first / only_first / only_second, with its errors), and how a cut sequence is split into
// the kept window plus overflowing windows that overlap by `stride` tokens.

import { UserError } from "../errors.js";
import type { TokenRun } from "./wordpiece.js";

export type TruncationStrategy = "longest_first" | "only_first" | "only_second";

/** Truncation errors carry Hugging Face's exact messages. */
function truncationError(message: string): UserError {
  return new UserError(`Truncation error: ${message}`);
}

/** The windows of one sequence: the first is the one kept, the rest overflow. */
export function windows(run: TokenRun, maxLength: number, stride: number): TokenRun[] {
  const length = run.ids.length;
  if (maxLength >= length) return [run];
  if (maxLength === 0) return [emptyRun(), run];
  if (stride >= maxLength) {
    throw new UserError(
      `stride ${stride} must be smaller than the tokens left for this sequence (${maxLength}) once the special tokens are counted: lower --stride or raise --max-length`,
    );
  }
  const step = maxLength - stride;
  const parts: TokenRun[] = [];
  for (let start = 0; ; start += step) {
    const stop = Math.min(start + maxLength, length);
    parts.push(slice(run, start, stop));
    if (stop === length) break;
  }
  return parts;
}

function emptyRun(): TokenRun {
  return { ids: [], starts: [], ends: [] };
}

function slice(run: TokenRun, start: number, stop: number): TokenRun {
  return {
    ids: run.ids.slice(start, stop),
    starts: run.starts.slice(start, stop),
    ends: run.ends.slice(start, stop),
  };
}

/**
 * How many tokens each sequence keeps so the pair fits `maxLength` (special tokens already
 * subtracted). Throws Hugging Face's errors when the strategy cannot reach it.
 */
export function keptLengths(
  lengthA: number,
  lengthB: number | null,
  maxLength: number,
  strategy: TruncationStrategy,
): [number, number | null] {
  // Hugging Face empties both sequences when nothing is left for them, before any strategy.
  if (maxLength === 0) return [0, lengthB === null ? null : 0];
  const total = lengthA + (lengthB ?? 0);
  if (total <= maxLength) return [lengthA, lengthB];
  const toRemove = total - maxLength;
  if (strategy === "longest_first") {
    if (lengthB === null) return [lengthA - toRemove, null];
    let short = Math.min(lengthA, lengthB);
    let long = short > maxLength ? short : Math.max(short, maxLength - short);
    if (short + long > maxLength) {
      short = Math.floor(maxLength / 2);
      long = short + (maxLength % 2);
    }
    return lengthA > lengthB ? [long, short] : [short, long];
  }
  if (strategy === "only_second" && lengthB === null) {
    throw truncationError("Second sequence not provided");
  }
  const targetLength = strategy === "only_first" ? lengthA : (lengthB as number);
  if (targetLength <= toRemove) {
    throw truncationError("Sequence to truncate too short to respect the provided max_length");
  }
  return strategy === "only_first"
    ? [lengthA - toRemove, lengthB]
    : [lengthA, (lengthB as number) - toRemove];
}
