// A model folder's config.json on disk (Node). The format itself is in config-format.ts, shared
// with the browser bundle.

import { join } from "node:path";
import { writeFileAtomic } from "./atomic.js";
import { configFileText, type ModelConfig, parseConfigText } from "./config-format.js";
import { readTextFile } from "./text-file.js";

export * from "./config-format.js";

export function loadConfig(dir: string): ModelConfig {
  const path = join(dir, "config.json");
  return parseConfigText(readTextFile(path), path);
}

/** Writes DIR/config.json atomically (configFileText). */
export function saveConfig(config: ModelConfig, dir: string, weightsDtype?: "F32" | "F16"): void {
  writeFileAtomic(join(dir, "config.json"), configFileText(config, weightsDtype));
}
