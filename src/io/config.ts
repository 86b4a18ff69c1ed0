// A model folder's config.json on disk (Node). The format itself is in config-format.ts, shared
// with the browser bundle.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "./atomic.js";
import { configToJSON, type ModelConfig, parseConfigText } from "./config-format.js";

export * from "./config-format.js";

export function loadConfig(dir: string): ModelConfig {
  const path = join(dir, "config.json");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UserError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return parseConfigText(text, path);
}

/**
 * Writes DIR/config.json atomically; `weightsDtype` records the stored weights' dtype under
 * transformers' key `dtype` (replacing an older `torch_dtype`).
 */
export function saveConfig(config: ModelConfig, dir: string, weightsDtype?: "F32" | "F16"): void {
  const json = configToJSON(config);
  if (weightsDtype) {
    delete json.torch_dtype;
    json.dtype = weightsDtype === "F16" ? "float16" : "float32";
  }
  writeFileAtomic(join(dir, "config.json"), `${JSON.stringify(json, null, 2)}\n`);
}
