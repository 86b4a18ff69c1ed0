// A teacher and its student side by side, as DistilBERT's paper compares them: size, speed,
// masked-token accuracy and, given fine-tuned pairs, downstream scores.

import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../io/config.js";
import { Checkpoint, encodeSafetensors } from "../io/safetensors.js";
import {
  CHECKPOINT_METADATA,
  checkpointTensors,
  createModel,
  loadModel,
  type ModelDtype,
} from "../models/index.js";
import type { Backend } from "../tensor/backend.js";

/**
 * Parameters stored in the checkpoint (a tied projector counted once, as stored; an int8 weight's
 * scales are not parameters).
 */
export function countParameters(dir: string): number {
  const checkpoint = Checkpoint.open(dir);
  let count = 0;
  for (const name of checkpoint.names()) {
    if (name.endsWith("_scale") && checkpoint.has(name.slice(0, -"_scale".length))) continue;
    count += checkpoint.info(name).shape.reduce((a, b) => a * b, 1);
  }
  return count;
}

/** Bytes model.safetensors takes once the model is quantized to int8 (distilbert quantize). */
export function int8WeightBytes(dir: string): number {
  const tensors = checkpointTensors(loadModel(dir, { dtype: "int8" }));
  return encodeSafetensors(tensors, CHECKPOINT_METADATA).byteLength;
}

/** Bytes of the weight files (model.safetensors or its shards). */
export function weightBytes(dir: string): number {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".safetensors") && name.startsWith("model"))
    .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

export interface Speed {
  /** Median milliseconds of one forward of 1 x seq tokens. */
  latencyMs: number;
  /** Sequences per second at batch x seq. */
  throughput: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * The encoder's forward time (the base model, no head: as DistilBERT's paper times inference),
 * after one warm-up run, median of `repeats`.
 */
export function measureSpeed(
  dir: string,
  backend: Backend,
  options: { seq: number; batch: number; repeats: number; dtype?: ModelDtype },
): Speed {
  const config = loadConfig(dir);
  const model = createModel(config, Checkpoint.open(dir), backend, {
    head: "base",
    sourceName: dir,
    dtype: options.dtype,
  });
  const time = (batch: number) => {
    const inputIds = new Int32Array(batch * options.seq);
    // Any ids do: the time does not depend on them.
    for (let i = 0; i < inputIds.length; i++) inputIds[i] = (i * 7919) % config.vocabSize;
    const inputs = { inputIds, batch, seq: options.seq };
    model.forward(inputs);
    const times: number[] = [];
    for (let r = 0; r < options.repeats; r++) {
      const started = performance.now();
      model.forward(inputs);
      times.push(performance.now() - started);
    }
    return median(times);
  };
  const latencyMs = time(1);
  const batchMs = time(options.batch);
  return { latencyMs, throughput: (options.batch * 1000) / batchMs };
}

export interface ComparisonRow {
  what: string;
  teacher: number;
  student: number;
  /** The student quantized to int8 (its Linear weights and word embeddings). */
  studentInt8: number;
  /**
   * How the student's number reads against the teacher's: "share" student/teacher in percent;
   * "time" (lower is faster) and "rate" (higher is faster) as a speed-up.
   */
  relation: "share" | "time" | "rate";
  format: (value: number) => string;
}

/** How `value` reads against the teacher's in `row`: a share in percent, or a speed-up. */
function relation(row: ComparisonRow, value: number): string {
  if (row.relation === "share") return `${((100 * value) / row.teacher).toFixed(1)}%`;
  const speedUp = row.relation === "time" ? row.teacher / value : value / row.teacher;
  return `${speedUp.toFixed(2)}x faster`;
}

/** The comparison as a Markdown table, each student column followed by its relation to the teacher. */
export function comparisonTable(rows: ComparisonRow[]): string {
  const lines = [
    "| | teacher | student | student vs teacher | student int8 | int8 vs teacher |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const row of rows) {
    const cells = [
      row.what,
      row.format(row.teacher),
      row.format(row.student),
      relation(row, row.student),
      row.format(row.studentInt8),
      relation(row, row.studentInt8),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}
