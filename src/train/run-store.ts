// A run's folder on disk: crash-safe checkpoints (checkpoint.ts), the evaluation log
// DIR/eval_log.jsonl, and the resulting model written into DIR itself.

import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { removeIncompleteCheckpoints, writeCheckpoint } from "./checkpoint.js";
import type { RunStore } from "./loop.js";

const EVAL_LOG_FILE = "eval_log.jsonl";

/** Keeps only the evaluations a resumed run has already made (a killed run may have logged more). */
function trimEvalLog(path: string, step: number): void {
  if (!existsSync(path)) return;
  const kept = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "" && (JSON.parse(line) as { step: number }).step <= step);
  writeFileAtomic(path, kept.map((line) => `${line}\n`).join(""));
}

export function folderStore(outDir: string): RunStore {
  const evalLog = join(outDir, EVAL_LOG_FILE);
  return {
    where: outDir,
    begin(resumedStep) {
      mkdirSync(outDir, { recursive: true });
      removeIncompleteCheckpoints(outDir);
      // A new run in a folder given with --overwrite starts its own log.
      if (resumedStep === null) rmSync(evalLog, { force: true });
      else trimEvalLog(evalLog, resumedStep);
    },
    checkpoint(contents) {
      writeCheckpoint(outDir, contents);
    },
    evaluation(record) {
      appendFileSync(evalLog, `${JSON.stringify(record)}\n`);
    },
    result(writeModel) {
      writeModel(outDir);
    },
  };
}
