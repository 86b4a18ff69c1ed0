// Reading training data and corpora from disk (the parsing is data-format.ts's and mlm-data.ts's).

import { corpusLines } from "../distill/mlm-data.js";
import { readTextFile } from "../io/text-file.js";
import { type DataFile, parseDataFile } from "./data-format.js";

export function readDataFile(path: string): DataFile {
  return parseDataFile(readTextFile(path), path);
}

/** The corpus file's texts (mlm-data.ts corpusLines): lines, or a .jsonl/.csv file's `textField`. */
export function readCorpusLines(path: string, textField = "text"): string[] {
  return corpusLines(readTextFile(path, "the corpus "), path, textField);
}
