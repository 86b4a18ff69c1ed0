// Reading training data and corpora from disk (the parsing is data-format.ts's and mlm-data.ts's).

import { readFileSync } from "node:fs";
import { corpusLines } from "../distill/mlm-data.js";
import { UserError } from "../errors.js";
import { type DataFile, parseDataFile } from "./data-format.js";

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new UserError(`cannot read ${what}${path}: ${(error as Error).message}`);
  }
}

export function readDataFile(path: string): DataFile {
  return parseDataFile(readText(path, ""), path);
}

/** The corpus file's texts (mlm-data.ts corpusLines): lines, or a .jsonl/.csv file's `textField`. */
export function readCorpusLines(path: string, textField = "text"): string[] {
  return corpusLines(readText(path, "the corpus "), path, textField);
}
