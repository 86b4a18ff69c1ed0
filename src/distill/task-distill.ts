// Task-specific distillation: a fine-tuned teacher classifier teaches a student classifier on the
// task's training data. The loss is DistilBERT's soft-target term on the class logits,
// a_ce * T^2 * KL(softmax(t/T) || softmax(s/T)) (averaged over the examples), plus a_hard times the
// cross-entropy with the true labels (the place of the masked-LM term). Batches are the
// fine-tuning's; the loop (AdamW, schedule, clipping, checkpoints, resume) is train/loop.ts.

import type { Model } from "../models/types.js";
import { collate, epochBatches } from "../train/batching.js";
import type { LoadedCheckpoint } from "../train/checkpoint.js";
import type { Dataset } from "../train/features.js";
import { type LoopResult, runLoop } from "../train/loop.js";
import type { Reporter } from "../train/reporter.js";
import { type DistillRunOptions, distillLoopOptions } from "./loop-options.js";
import { distillLoss } from "./losses.js";

export interface TaskDistillOptions extends DistillRunOptions {
  epochs: number;
  /** Stop after this many steps instead of after `epochs`. */
  steps: number | null;
  batchSize: number;
  temperature: number;
  alphaCe: number;
  alphaHard: number;
}

export function distillClassifier(
  teacher: Model,
  student: Model,
  train: Dataset,
  padId: number,
  options: TaskDistillOptions,
  writeFolder: (dir: string) => void,
  reporter: Reporter,
  resume: LoadedCheckpoint | null = null,
): LoopResult {
  const lengths = train.features.map((f) => f.length);
  const lossWeights = {
    temperature: options.temperature,
    alphaCe: options.alphaCe,
    alphaMlm: options.alphaHard,
    alphaCos: 0,
    alphaMse: 0,
    ceMaskedOnly: false,
  };
  return runLoop(
    {
      model: student,
      epochBatches: (epoch) => epochBatches(lengths, options.batchSize, options.seed, epoch),
      step(indices, rng) {
        const batch = collate(
          indices.map((i) => train.features[i]),
          padId,
        );
        const teacherLogits = Float32Array.from(
          teacher.forward(batch.inputs).logits as Float32Array,
        );
        const studentLogits = student.forward(batch.inputs, undefined, {
          train: true,
          dropoutSeed: rng.uint32(),
        }).logits as Float32Array;
        const examples = indices.length;
        const loss = distillLoss(
          student.backend,
          {
            studentLogits,
            teacherLogits,
            attentionMask: new Float32Array(examples).fill(1),
            labels: batch.labels.labels as Int32Array,
            rows: examples,
            vocab: studentLogits.length / examples,
            dim: 0,
          },
          lossWeights,
        );
        student.backward({ dLogits: loss.dStudentLogits });
        return {
          loss: loss.total,
          parts: { soft: loss.ce, hard: loss.mlm },
          examples,
          tokens: batch.tokens,
        };
      },
      evaluate: null,
      writeFolder,
      settings: {
        batchSize: options.batchSize,
        temperature: options.temperature,
        alphaCe: options.alphaCe,
        alphaHard: options.alphaHard,
        trainFeatures: lengths.length,
      },
    },
    distillLoopOptions(options, {
      epochs: options.epochs,
      steps: options.steps,
      timeBudget: null,
    }),
    reporter,
    resume,
  );
}
