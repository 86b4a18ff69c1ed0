// Loading a tokenizer from a model folder on disk and saving one into it (Node only; folder.ts
// builds the tokenizer from the files' text, shared with the browser, which fetches them).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { readTextFileIfPresent } from "../io/text-file.js";
import { tokenizerFromFiles } from "./folder.js";
import { specToConfigText, specToJSON, specToVocabText } from "./spec.js";
import type { Tokenizer } from "./tokenizer.js";

/** tokenizer.json if the folder has one, else vocab.txt (+ tokenizer_config.json if present). */
export function loadTokenizer(dir: string): Tokenizer {
  const config = readTextFileIfPresent(join(dir, "tokenizer_config.json"));
  const json = readTextFileIfPresent(join(dir, "tokenizer.json"));
  const vocab = json === undefined ? readTextFileIfPresent(join(dir, "vocab.txt")) : undefined;
  return tokenizerFromFiles(
    { "tokenizer.json": json, "vocab.txt": vocab, "tokenizer_config.json": config },
    dir,
  );
}

/** Writes tokenizer.json, tokenizer_config.json and vocab.txt into `dir` (which must exist). */
export function saveTokenizer(tokenizer: Tokenizer, dir: string): void {
  const spec = tokenizer.spec;
  writeFileAtomic(
    join(dir, "tokenizer.json"),
    `${JSON.stringify(specToJSON(spec, tokenizer.padTokenId), null, 2)}\n`,
  );
  writeFileAtomic(join(dir, "tokenizer_config.json"), `${specToConfigText(spec)}\n`);
  writeFileAtomic(join(dir, "vocab.txt"), specToVocabText(spec));
}

/** The tokenizer files a Hugging Face folder may have, copied unchanged into models made from it. */
const TOKENIZER_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "vocab.txt",
  "special_tokens_map.json",
];

/** Copies the tokenizer files `fromDir` has into `toDir`, each atomically. */
export function copyTokenizerFiles(fromDir: string, toDir: string): void {
  for (const name of TOKENIZER_FILES) {
    const source = join(fromDir, name);
    if (existsSync(source)) writeFileAtomic(join(toDir, name), readFileSync(source));
  }
}
