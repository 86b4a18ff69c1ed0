// Reading a training data file from disk (the parsing is data-format.ts's).

import { readFileSync } from "node:fs";
import { UserError } from "../errors.js";
import { type DataFile, parseDataFile } from "./data-format.js";

export function readDataFile(path: string): DataFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UserError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return parseDataFile(text, path);
}
