// `distilbert tokenize`: JSON lines in, Hugging Face-equal encodings out, one line each.

import { parseArgs } from "node:util";
import { UserError } from "../../errors.js";
import { type EncodeOptions, type Encoding, loadTokenizer } from "../../tokenizer/index.js";
import type { Command } from "../commands.js";
import { computeLines, errorLine, type LineResult } from "../stdin-lines.js";

const help = `distilbert tokenize --model DIR [options] < lines.jsonl

Tokenizes like Hugging Face's BERT tokenizer (transformers' fast tokenizer), one JSON object a
line in and out, so the output can be diffed against Python.

Input lines:   {"text": "...", "text_pair": "..."}        (text_pair optional)
Output lines:  {"input_ids", "token_type_ids", "attention_mask", "offsets", "tokens"}
  with --return-overflowing:
               {"windows": [{"input_ids", "token_type_ids", "attention_mask", "offsets",
                             "sequence_ids"}, ...]}
  a line that cannot be encoded (or is blank, or not UTF-8): {"error": "...", "line": N};
  the other lines go on, one output line per input line, and the exit status is 1

Offsets are [start, end) in UTF-16 code units of the input string, so in JavaScript
text.slice(start, end) is the token's source. Python counts code points instead: the two differ
after a character outside the Basic Multilingual Plane (most emoji). Special tokens and padding
have [0, 0].

Options:
  --model DIR            folder with tokenizer.json, or vocab.txt (+ tokenizer_config.json)
  --max-length N         cut and/or pad to N tokens, special tokens included. Without
                         --truncation, --max-length truncates with longest_first (what
                         transformers does for max_length when no padding is asked for; here
                         also with --padding, so every row has at most N tokens)
  --truncation STRATEGY  longest_first | only_first | only_second (pairs: which text to cut;
                         Hugging Face's error when that text is too short to reach N)
  --padding MODE         longest (pad to the longest of all lines read) | max_length (to N)
  --stride K             overflowing windows overlap by K tokens (with --return-overflowing)
  --return-overflowing   output every window of a cut text, as question answering over a long
                         context uses (--truncation only_second --max-length 384 --stride 128).
                         Like Hugging Face tokenizers 0.23, each text is tokenized only up to
                         --max-length tokens, so the windows end there (the library option
                         tokenizeWholeInput windows the whole text)
  --no-special-tokens    no [CLS] / [SEP]

Example:
  echo '{"text": "Hello, world!"}' | distilbert tokenize --model models/bert-mini-sotu
  {"input_ids":[101,7592,1010,2088,999,102],"token_type_ids":[0,0,0,0,0,0],...}`;

function wholeNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) {
    throw new UserError(`--${name} needs a whole number >= 0, got '${value}'`);
  }
  return number;
}

function encodeOptions(values: Record<string, string | boolean | undefined>): EncodeOptions {
  const maxLength = wholeNumber("max-length", values["max-length"] as string | undefined);
  const stride = wholeNumber("stride", values.stride as string | undefined);
  const truncation = values.truncation as string | undefined;
  if (
    truncation !== undefined &&
    !["longest_first", "only_first", "only_second"].includes(truncation)
  ) {
    throw new UserError(
      `--truncation must be longest_first, only_first or only_second, got '${truncation}'`,
    );
  }
  const padding = values.padding as string | undefined;
  if (padding !== undefined && padding !== "longest" && padding !== "max_length") {
    throw new UserError(`--padding must be longest or max_length, got '${padding}'`);
  }
  if (padding === "max_length" && maxLength === undefined) {
    throw new UserError("--padding max_length needs --max-length N");
  }
  if (
    (truncation !== undefined || stride !== undefined || values["return-overflowing"]) &&
    maxLength === undefined
  ) {
    throw new UserError("--truncation, --stride and --return-overflowing need --max-length N");
  }
  return {
    addSpecialTokens: !values["no-special-tokens"],
    maxLength,
    truncation:
      (truncation as EncodeOptions["truncation"]) ??
      (maxLength === undefined ? false : "longest_first"),
    padding: padding === "max_length" ? "max_length" : false,
    stride,
    returnOverflowing: Boolean(values["return-overflowing"]),
  };
}

function parseLine(line: string): [string, string | null] {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new UserError('the line is not JSON: expected {"text": "..."}');
  }
  if (
    typeof value !== "object" ||
    value === null ||
    typeof (value as { text?: unknown }).text !== "string"
  ) {
    throw new UserError('the line needs a string "text"');
  }
  const { text, text_pair: pair } = value as { text: string; text_pair?: unknown };
  if (pair !== undefined && pair !== null && typeof pair !== "string") {
    throw new UserError('"text_pair" must be a string');
  }
  return [text, (pair as string | undefined) ?? null];
}

function row(encoding: Encoding): Record<string, unknown> {
  return {
    input_ids: encoding.ids,
    token_type_ids: encoding.tokenTypeIds,
    attention_mask: encoding.attentionMask,
    offsets: encoding.offsets,
    tokens: encoding.tokens,
  };
}

function windowRow(encoding: Encoding): Record<string, unknown> {
  return {
    input_ids: encoding.ids,
    token_type_ids: encoding.tokenTypeIds,
    attention_mask: encoding.attentionMask,
    offsets: encoding.offsets,
    sequence_ids: encoding.sequenceIds,
  };
}

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string" },
      "max-length": { type: "string" },
      truncation: { type: "string" },
      padding: { type: "string" },
      stride: { type: "string" },
      "return-overflowing": { type: "boolean" },
      "no-special-tokens": { type: "boolean" },
    },
  });
  if (!values.model)
    throw new UserError("tokenize needs --model DIR (see distilbert tokenize --help)");
  const options = encodeOptions(values);
  const tokenizer = loadTokenizer(values.model);
  const results: LineResult<Encoding>[] = [];
  for await (const result of computeLines((text) => {
    const [first, pair] = parseLine(text);
    return tokenizer.encode(first, pair, options);
  })) {
    results.push(result);
  }
  const encodings = results.flatMap((result) => ("value" in result ? [result.value] : []));
  // All lines are read before any is written: padding to the longest needs them all.
  if (values.padding === "longest") tokenizer.padToLongest(encodings);
  const out: string[] = [];
  for (const result of results) {
    if ("error" in result) out.push(errorLine(result.error, result.number));
    else if (options.returnOverflowing)
      out.push(
        JSON.stringify({ windows: [result.value, ...result.value.overflowing].map(windowRow) }),
      );
    else out.push(JSON.stringify(row(result.value)));
  }
  if (out.length > 0) process.stdout.write(`${out.join("\n")}\n`);
  return results.some((result) => "error" in result) ? 1 : 0;
}

export const tokenize: Command = {
  summary: "tokenize JSON lines exactly like Hugging Face's BERT tokenizer",
  help,
  run,
};
