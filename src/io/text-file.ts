// Reading a text file from disk (Node): the one reader of every text file a command is given,
// strict UTF-8 (utf8.ts).

import { existsSync, readFileSync } from "node:fs";
import { UserError } from "../errors.js";
import { decodeUtf8 } from "./utf8.js";

/** The file's text; a UserError when it cannot be read or is not UTF-8. `what` prefixes the path. */
export function readTextFile(path: string, what = ""): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UserError(`cannot read ${what}${path}: ${(error as Error).message}`);
  }
  return decodeUtf8(bytes, `${what}${path}`);
}

/** The file's text (as readTextFile), or undefined when there is no such file. */
export function readTextFileIfPresent(path: string): string | undefined {
  return existsSync(path) ? readTextFile(path) : undefined;
}
