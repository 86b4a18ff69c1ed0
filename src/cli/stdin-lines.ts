// The lines of standard input (or of a file) for the commands that read one input a line
// (predict, tokenize, decode, queue run): numbered from 1, CR LF or LF, each decoded as strict
// UTF-8, so that every input line gets exactly one output line and a bad one is reported by its
// number, never dropped.

import { UserError } from "../errors.js";

export type StdinLine = { number: number; text: string } | { number: number; error: string };

const decoder = new TextDecoder("utf-8", { fatal: true });

function decodeLine(bytes: Buffer, number: number): StdinLine {
  const end =
    bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
  try {
    const text = decoder.decode(bytes.subarray(0, end));
    if (text.trim() === "") return { number, error: `line ${number} is blank: give an input` };
    return { number, text };
  } catch {
    return { number, error: `line ${number} is not valid UTF-8: convert the input to UTF-8` };
  }
}

export async function* readLines(
  input: AsyncIterable<Buffer> | Iterable<Buffer> = process.stdin,
): AsyncGenerator<StdinLine> {
  let pending: Buffer = Buffer.alloc(0);
  let number = 0;
  for await (const chunk of input) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let start = 0;
    for (let at = pending.indexOf(0x0a); at >= 0; at = pending.indexOf(0x0a, start)) {
      yield decodeLine(pending.subarray(start, at), ++number);
      start = at + 1;
    }
    pending = pending.subarray(start);
  }
  if (pending.length > 0) yield decodeLine(pending, ++number);
}

/** A line's result: `compute`'s value, or why the line failed. */
export type LineResult<T> = { number: number; value: T } | { number: number; error: string };

/**
 * Each stdin line through `compute`, in order. A line that cannot be read, or whose `compute`
 * throws a UserError, becomes its error; any other exception is a bug and propagates.
 */
async function computeLine<T>(
  compute: (text: string) => T | Promise<T>,
  line: StdinLine,
): Promise<LineResult<T>> {
  if ("error" in line) return line;
  try {
    return { number: line.number, value: await compute(line.text) };
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { number: line.number, error: error.message };
  }
}

export async function* computeLines<T>(
  compute: (text: string) => T | Promise<T>,
): AsyncGenerator<LineResult<T>> {
  for await (const line of readLines()) yield computeLine(compute, line);
}

/** The output line for an input line that failed. */
export function errorLine(message: string, number: number): string {
  return JSON.stringify({ error: message, line: number });
}

/** The output line for an input line: `compute`'s value as JSON, or the line's error. */
export async function answerLine(
  compute: (text: string) => unknown,
  line: StdinLine,
): Promise<{ text: string; failed: boolean }> {
  const result = await computeLine(compute, line);
  return "error" in result
    ? { text: errorLine(result.error, result.number), failed: true }
    : { text: JSON.stringify(result.value), failed: false };
}

/**
 * Writes one JSON line per stdin line (answerLine). Resolves with the exit status: 1 if any line
 * failed.
 */
export async function answerLines(compute: (text: string) => unknown): Promise<number> {
  let failed = 0;
  for await (const line of readLines()) {
    const answer = await answerLine(compute, line);
    if (answer.failed) failed++;
    process.stdout.write(`${answer.text}\n`);
  }
  return failed > 0 ? 1 : 0;
}
