// A model folder's config.json on disk (Node). The format itself is in config-format.ts, shared
// with the browser bundle.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "./atomic.js";
import { configFileText, type ModelConfig, parseConfigText } from "./config-format.js";

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

/** Writes DIR/config.json atomically (configFileText). */
export function saveConfig(config: ModelConfig, dir: string, weightsDtype?: "F32" | "F16"): void {
  writeFileAtomic(join(dir, "config.json"), configFileText(config, weightsDtype));
}
