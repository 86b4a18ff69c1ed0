// Masked-LM pretraining, continued on one's own corpus as Hugging Face's run_mlm.py does: the
// corpus tokenized and packed into rows, every batch masked afresh (--mlm-probability of the real
// tokens, 80% [MASK], 10% a random token, 10% kept, uniformly as DataCollatorForLanguageModeling),
// the cross-entropy at the masked tokens; vocabulary logits are computed only there. The loop is
// train/loop.ts; evaluation is masked-token accuracy and loss on fixed masks (distill/eval-mlm.ts).

import { evaluateMlm, type MaskedRows } from "../distill/eval-mlm.js";
import { type Masker, type PackedRows, RowSchedule } from "../distill/mlm-data.js";
import type { RowMaskedLM } from "../distill/row-mlm.js";
import { saveWeights } from "../models/index.js";
import { crossEntropyLoss, IGNORE_INDEX } from "../models/losses.js";
import type { LoadedCheckpoint } from "./checkpoint.js";
import { type LoopOptions, type LoopResult, runLoop } from "./loop.js";
import type { Reporter } from "./reporter.js";

/** The metrics masked-LM evaluation reports, and the one that picks the best model. */
export const MASKED_LM = { metrics: ["loss", "accuracy", "perplexity"], defaultMetric: "loss" };

/** Writes the model as a ...ForMaskedLM folder, with the tokenizer files of `tokenizerDir`. */
export function saveMaskedLm(
  model: RowMaskedLM,
  tokenizerDir: string,
  dir: string,
  dtype: "F32" | "F16" = "F32",
): void {
  const architecture =
    model.config.modelType === "bert" ? "BertForMaskedLM" : "DistilBertForMaskedLM";
  const config = { ...model.config, architectures: [architecture] };
  saveWeights(config, model.checkpointTensors(), dir, { dtype, tokenizerFrom: tokenizerDir });
}

export interface MaskedLmData {
  rows: PackedRows;
  masker: Masker;
  padTokenId: number;
  /** Scored at each evaluation; null for none. */
  eval: MaskedRows | null;
}

/** The options of the loop, with masked-LM's batch size and masking probability. */
export interface MaskedLmOptions extends Omit<LoopOptions, "timeBudget"> {
  batchSize: number;
  mlmProbability: number;
}

/** Masked-token accuracy, loss and perplexity (exp of the loss, as run_mlm.py reports). */
export function maskedLmMetrics(model: RowMaskedLM, rows: MaskedRows, batchSize: number) {
  const score = evaluateMlm(model, rows, batchSize);
  return { accuracy: score.accuracy, loss: score.loss, perplexity: Math.exp(score.loss) };
}

export function pretrainMaskedLm(
  model: RowMaskedLM,
  data: MaskedLmData,
  options: MaskedLmOptions,
  writeFolder: (dir: string) => void,
  reporter: Reporter,
  resume: LoadedCheckpoint | null = null,
): LoopResult {
  const { rows, masker, padTokenId } = data;
  const batch = options.batchSize;
  const seq = rows.seqLen;
  const vocab = model.config.vocabSize;
  const hidden = model.config.hiddenSize;
  const order = new RowSchedule(rows, batch, options.seed);
  const evalRows = data.eval;
  // The head adds its gradient into this buffer: zeroed every step, allocated once.
  const dHidden = new Float32Array(batch * seq * hidden);
  return runLoop(
    {
      model,
      epochBatches: (epoch) => order.epochBatches(epoch),
      step(indices, rng) {
        const masked = masker.mask(order.gather(indices), padTokenId, rng);
        const predicted: number[] = [];
        masked.labels.forEach((label, r) => {
          if (label !== IGNORE_INDEX) predicted.push(r);
        });
        const at = Int32Array.from(predicted);
        const inputs = {
          inputIds: masked.inputIds,
          attentionMask: masked.attentionMask,
          batch,
          seq,
        };
        const { logits } = model.forward(inputs, at, { train: true, dropoutSeed: rng.uint32() });
        const labels = Int32Array.from(predicted, (r) => masked.labels[r]);
        const loss = crossEntropyLoss(logits, labels, at.length, vocab);
        dHidden.fill(0);
        model.backward(loss.grad, dHidden);
        return { loss: loss.loss, parts: {}, examples: batch, tokens: batch * seq };
      },
      evaluate: evalRows ? () => maskedLmMetrics(model, evalRows, batch) : null,
      writeFolder,
      settings: {
        task: "masked-lm",
        batchSize: batch,
        seqLen: seq,
        rows: rows.count,
        mlmProbability: options.mlmProbability,
      },
    },
    { ...options, timeBudget: null },
    reporter,
    resume,
  );
}
