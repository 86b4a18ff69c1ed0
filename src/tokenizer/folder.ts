// Building a tokenizer from a model folder's files as Hugging Face's save_pretrained writes them:
// tokenizer.json if there is one, else vocab.txt, each with tokenizer_config.json when present.
// Takes the files' text, so Node (files.ts reads the folder) and the browser (which fetches it)
// share it.

import { UserError } from "../errors.js";
import { Tokenizer } from "./tokenizer.js";

/** The text of each tokenizer file a folder has; a file it lacks is left out. */
export interface TokenizerFiles {
  "tokenizer.json"?: string;
  "vocab.txt"?: string;
  "tokenizer_config.json"?: string;
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** `where` names the folder (a path or a URL) in errors. */
export function tokenizerFromFiles(files: TokenizerFiles, where: string): Tokenizer {
  const configText = files["tokenizer_config.json"];
  const config =
    configText === undefined ? undefined : parseJson(configText, `${where}/tokenizer_config.json`);
  const json = files["tokenizer.json"];
  if (json !== undefined)
    return Tokenizer.fromJSON(parseJson(json, `${where}/tokenizer.json`), config);
  const vocab = files["vocab.txt"];
  if (vocab !== undefined) return Tokenizer.fromVocab(vocab, config);
  throw new UserError(
    `no tokenizer in ${where}: it needs tokenizer.json, or vocab.txt (with tokenizer_config.json), as Hugging Face's save_pretrained writes`,
  );
}
