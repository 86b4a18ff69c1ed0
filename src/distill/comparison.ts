// The teacher/student comparison's measures that need no files: the encoder's speed and the
// table (as Markdown for the terminal, as cells for the web page).

import type { Model } from "../models/types.js";

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
 * The forward time of `model` (the base model, no head: as DistilBERT's paper times inference),
 * after one warm-up run, median of `repeats`.
 */
export function encoderSpeed(
  model: Model,
  vocabSize: number,
  options: { seq: number; batch: number; repeats: number },
): Speed {
  const time = (batch: number) => {
    const inputIds = new Int32Array(batch * options.seq);
    // Any ids do: the time does not depend on them.
    for (let i = 0; i < inputIds.length; i++) inputIds[i] = (i * 7919) % vocabSize;
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

export const COMPARISON_HEADER = [
  "",
  "teacher",
  "student",
  "student vs teacher",
  "student int8",
  "int8 vs teacher",
];

/** The comparison's cells (under COMPARISON_HEADER): each student column, then its relation. */
export function comparisonCells(rows: ComparisonRow[]): string[][] {
  return rows.map((row) => [
    row.what,
    row.format(row.teacher),
    row.format(row.student),
    relation(row, row.student),
    row.format(row.studentInt8),
    relation(row, row.studentInt8),
  ]);
}

/** The comparison as a Markdown table. */
export function comparisonTable(rows: ComparisonRow[]): string {
  const lines = [
    `| ${COMPARISON_HEADER.join(" | ")} |`,
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const cells of comparisonCells(rows)) lines.push(`| ${cells.join(" | ")} |`);
  return lines.join("\n");
}
