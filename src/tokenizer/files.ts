// Loading a tokenizer from a model folder and saving one into it (Node only; the browser builds
// a Tokenizer from already-fetched JSON with Tokenizer.fromJSON).

import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { specToConfigText, specToJSON, specToVocabText } from "./spec.js";
import { Tokenizer } from "./tokenizer.js";

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UserError(
      `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** tokenizer.json if the folder has one, else vocab.txt (+ tokenizer_config.json if present). */
export function loadTokenizer(dir: string): Tokenizer {
  const configPath = join(dir, "tokenizer_config.json");
  const config = existsSync(configPath) ? readJson(configPath) : undefined;
  const jsonPath = join(dir, "tokenizer.json");
  if (existsSync(jsonPath)) return Tokenizer.fromJSON(readJson(jsonPath), config);
  const vocabPath = join(dir, "vocab.txt");
  if (existsSync(vocabPath)) return Tokenizer.fromVocab(readFileSync(vocabPath, "utf8"), config);
  throw new UserError(
    `no tokenizer in ${dir}: it needs tokenizer.json, or vocab.txt (with tokenizer_config.json), as Hugging Face's save_pretrained writes`,
  );
}

function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

/** Writes tokenizer.json, tokenizer_config.json and vocab.txt into `dir` (which must exist). */
export function saveTokenizer(tokenizer: Tokenizer, dir: string): void {
  const spec = tokenizer.spec;
  writeAtomically(
    join(dir, "tokenizer.json"),
    `${JSON.stringify(specToJSON(spec, tokenizer.padTokenId), null, 2)}\n`,
  );
  writeAtomically(join(dir, "tokenizer_config.json"), `${specToConfigText(spec)}\n`);
  writeAtomically(join(dir, "vocab.txt"), specToVocabText(spec));
}
