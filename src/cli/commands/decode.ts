// `distilbert decode`: ids back to text, JSON lines in and out.

import { parseArgs } from "node:util";
import { UserError } from "../../errors.js";
import { loadTokenizer, type Tokenizer } from "../../tokenizer/index.js";
import type { Command } from "../commands.js";
import { answerLines } from "../stdin-lines.js";

const help = `distilbert decode --model DIR [--keep-special-tokens] < ids.jsonl

Turns token ids back into text like Hugging Face's tokenizer.decode: "##" pieces are joined to the
previous piece, and the spaces before . , ! ? are removed (the WordPiece decoder's clean-up).

Input lines:   {"input_ids": [101, 7592, 1010, 2088, 999, 102]}
Output lines:  {"text": "hello, world!"}
  a line that cannot be decoded (or is blank, or not UTF-8): {"error": "...", "line": N};
  the other lines go on, one output line per input line, and the exit status is 1

Options:
  --model DIR              folder with tokenizer.json, or vocab.txt (+ tokenizer_config.json)
  --keep-special-tokens    keep [CLS], [SEP], [PAD], ... in the text (default: skip them)

Example:
  echo '{"input_ids": [101, 7592, 1010, 2088, 999, 102]}' | distilbert decode --model models/bert-mini-sotu
  {"text":"hello, world!"}`;

function decodeLine(tokenizer: Tokenizer, line: string, skipSpecialTokens: boolean): string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new UserError('the line is not JSON: expected {"input_ids": [...]}');
  }
  const ids = (value as { input_ids?: unknown } | null)?.input_ids;
  if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id) && id >= 0)) {
    throw new UserError('the line needs "input_ids": an array of whole numbers >= 0');
  }
  return tokenizer.decode(ids, { skipSpecialTokens });
}

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { model: { type: "string" }, "keep-special-tokens": { type: "boolean" } },
  });
  if (!values.model) throw new UserError("decode needs --model DIR (see distilbert decode --help)");
  const tokenizer = loadTokenizer(values.model);
  const skipSpecialTokens = !values["keep-special-tokens"];
  return answerLines((text) => ({ text: decodeLine(tokenizer, text, skipSpecialTokens) }));
}

export const decode: Command = {
  summary: "turn token ids back into text, as Hugging Face's decode",
  help,
  run,
};
