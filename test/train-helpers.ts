// Shared by the training tests: a tiny BERT masked-LM folder with the real vocabulary (so the
// teacher's tokenizer works), and a small labelled data set.

import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../src/io/config.js";
import { createModel, saveModel } from "../src/models/index.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import type { LoopOptions } from "../src/train/loop.js";
import { type Reporter, silentReporter } from "../src/train/reporter.js";
import { folderStore } from "../src/train/run-store.js";

export const TEACHER = "models/bert-mini-sotu";

export function temporaryDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `distilbert-${prefix}-`));
}

const TINY_BERT = {
  model_type: "bert",
  architectures: ["BertForMaskedLM"],
  vocab_size: 30522,
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 64,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  type_vocab_size: 2,
};

const TINY_DISTILBERT = {
  model_type: "distilbert",
  architectures: ["DistilBertForMaskedLM"],
  vocab_size: 30522,
  dim: 16,
  n_layers: 1,
  n_heads: 2,
  hidden_dim: 32,
  max_position_embeddings: 64,
  dropout: 0.1,
  attention_dropout: 0.1,
};

/**
 * A 1-layer masked-LM folder (BERT or DistilBERT), hidden 16, dropout on, random weights;
 * `overrides` replace config.json entries.
 */
export function tinyModelFolder(
  modelType: "bert" | "distilbert" = "bert",
  overrides: Record<string, unknown> = {},
): string {
  const dir = temporaryDir("tiny-model");
  const raw = { ...(modelType === "bert" ? TINY_BERT : TINY_DISTILBERT), ...overrides };
  const config = parseConfig(raw, "tiny config");
  const model = createModel(config, null, new ReferenceBackend(), { seed: 1 });
  saveModel(model, config, dir);
  for (const name of ["tokenizer.json", "tokenizer_config.json", "vocab.txt"]) {
    copyFileSync(join(TEACHER, name), join(dir, name));
  }
  return dir;
}

const WORDS = ["good", "great", "fine", "bad", "awful", "poor", "the", "film", "was", "very"];

/** Sentences labelled "pos" when they hold more positive than negative words. */
export function sentimentRows(count: number, seed: number): { text: string; label: string }[] {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  return Array.from({ length: count }, () => {
    const words = Array.from(
      { length: 3 + Math.floor(next() * 12) },
      () => WORDS[Math.floor(next() * WORDS.length)],
    );
    const score = words.filter((w) => WORDS.indexOf(w) < 3).length;
    const negative = words.filter((w) => WORDS.indexOf(w) >= 3 && WORDS.indexOf(w) < 6).length;
    return { text: words.join(" "), label: score >= negative ? "pos" : "neg" };
  });
}

export function writeJsonLines(path: string, rows: object[]): string {
  writeFileSync(path, rows.map((row) => `${JSON.stringify(row)}\n`).join(""));
  return path;
}

/** A reporter that aborts the run (as a kill would) once `step` is reached. */
export function abortAt(step: number): Reporter {
  return {
    ...silentReporter,
    step: (info) => {
      if (info.step === step) throw new Error("simulated interruption");
    },
  };
}

/**
 * The loop options of a short test run: `steps` steps at lr 1e-3 without warm-up, seed 3, a
 * checkpoint every 2 steps into `outDir`, best model by `metric`.
 */
export function shortLoop(
  outDir: string,
  steps: number,
  metric: string,
): Omit<LoopOptions, "timeBudget"> {
  return {
    epochs: 1,
    steps,
    gradAccum: 1,
    lr: 1e-3,
    schedule: "linear",
    warmupRatio: 0,
    weightDecay: 0.01,
    decayAll: false,
    adamEps: 1e-8,
    maxGradNorm: 1,
    seed: 3,
    evalEvery: null,
    earlyStopping: null,
    metric,
    saveEvery: 2,
    store: folderStore(outDir),
  };
}
