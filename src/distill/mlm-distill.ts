// The distillation loop on masked-LM data: per step a batch of rows (a seeded order), masked
// afresh, the teacher's and the student's forward, the triple loss and the student's backward,
// over the one training loop (train/loop.ts: clipping, AdamW on a warm-up + linear-decay schedule,
// checkpoints, exact resume, a time budget).

import { UserError } from "../errors.js";
import type { LoadedCheckpoint } from "../train/checkpoint.js";
import { type LoopResult, runLoop } from "../train/loop.js";
import { type Reporter, silentReporter } from "../train/reporter.js";
import { type DistillRunOptions, distillLoopOptions } from "./loop-options.js";
import type { DistillLossWeights } from "./losses.js";
import { type Masker, type PackedRows, RowSchedule } from "./mlm-data.js";
import { mlmDistillStep } from "./mlm-step.js";
import type { RowMaskedLM } from "./row-mlm.js";

export interface MlmDistillOptions extends DistillRunOptions {
  batchSize: number;
  /** Optimizer steps; or null with a time budget, when the count is planned from the first step. */
  steps: number | null;
  /** Seconds of training; the run stops when they are spent even if steps remain. */
  timeBudget: number | null;
  loss: DistillLossWeights;
  /** Recorded so a resumed run is refused if the masking changed. */
  mlmSmoothing: number;
}

export interface MlmDistillData {
  rows: PackedRows;
  masker: Masker;
  padTokenId: number;
}

export function distillMlm(
  teacher: RowMaskedLM,
  student: RowMaskedLM,
  data: MlmDistillData,
  options: MlmDistillOptions,
  writeFolder: (dir: string) => void,
  reporter: Reporter = silentReporter,
  resume: LoadedCheckpoint | null = null,
): LoopResult {
  if (options.steps === null && options.timeBudget === null) {
    throw new UserError("give --steps or --time-budget");
  }
  const { rows, masker, padTokenId } = data;
  const { loss } = options;
  const shape = { batch: options.batchSize, seq: rows.seqLen };
  const order = new RowSchedule(rows, options.batchSize, options.seed);
  return runLoop(
    {
      model: student,
      epochBatches: (epoch) => order.epochBatches(epoch),
      step(batch, rng) {
        const masked = masker.mask(order.gather(batch), padTokenId, rng);
        const out = mlmDistillStep(teacher, student, masked, shape, loss, rng.uint32());
        return {
          loss: out.total,
          parts: { ce: out.ce, mlm: out.mlm, cos: out.cos },
          examples: shape.batch,
          tokens: shape.batch * shape.seq,
        };
      },
      evaluate: null,
      writeFolder,
      settings: {
        batchSize: options.batchSize,
        seqLen: rows.seqLen,
        rows: rows.count,
        temperature: loss.temperature,
        alphaCe: loss.alphaCe,
        alphaMlm: loss.alphaMlm,
        alphaCos: loss.alphaCos,
        alphaMse: loss.alphaMse,
        ceMaskedOnly: loss.ceMaskedOnly,
        mlmSmoothing: options.mlmSmoothing,
      },
    },
    distillLoopOptions(options, {
      epochs: 1,
      steps: options.steps,
      timeBudget: options.timeBudget,
    }),
    reporter,
    resume,
  );
}
