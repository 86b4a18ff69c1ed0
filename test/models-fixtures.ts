// Helpers for the model parity tests: run a Hugging Face fixture on any backend and measure how
// far each output is from what Hugging Face computed. Kernel tests loop these over every backend.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SafetensorsFile } from "../src/io/safetensors.js";
import { loadModel } from "../src/models/index.js";
import type { ModelInputs, ModelLabels, ModelOutputs } from "../src/models/types.js";
import type { Backend } from "../src/tensor/backend.js";

export const MODEL_FIXTURES = join(import.meta.dirname, "..", "..", "test", "fixtures", "models");
export const TEACHER_DIR = join(import.meta.dirname, "..", "..", "models", "bert-mini-sotu");

/** Fixtures of forward parity (the training and distillation ones are tested elsewhere). */
export const FORWARD_FIXTURES = [
  "bert-mlm",
  "distilbert-base-model",
  "distilbert-mlm",
  "distilbert-multiple-choice",
  "distilbert-qa",
  "distilbert-seqcls",
  "distilbert-seqcls-regression",
  "distilbert-sinusoidal-relu",
  "distilbert-tokcls",
];

/** Inputs and labels from an io.safetensors (input_ids [batch, seq] or [batch, choices, seq]). */
export function readBatch(io: SafetensorsFile): { inputs: ModelInputs; labels: ModelLabels } {
  const shape = io.info("input_ids").shape;
  const inputs: ModelInputs = {
    inputIds: io.int32("input_ids"),
    batch: shape[0],
    seq: shape[shape.length - 1],
  };
  if (shape.length === 3) inputs.choices = shape[1];
  if (io.has("attention_mask"))
    inputs.attentionMask = Float32Array.from(io.int32("attention_mask"));
  if (io.has("token_type_ids")) inputs.tokenTypeIds = io.int32("token_type_ids");
  const labels: ModelLabels = {};
  for (const name of ["label.labels", "labels"]) {
    if (!io.has(name)) continue;
    if (io.info(name).dtype.startsWith("F") || io.info(name).dtype === "BF16") {
      labels.floatLabels = io.float32(name);
    } else {
      labels.labels = io.int32(name);
    }
  }
  if (io.has("label.start_positions")) labels.startPositions = io.int32("label.start_positions");
  if (io.has("label.end_positions")) labels.endPositions = io.int32("label.end_positions");
  return { inputs, labels };
}

/** The output Hugging Face names `name`, from our outputs. */
export function outputByName(outputs: ModelOutputs, name: string): Float32Array | undefined {
  const indexed = /^(hidden_states|attentions)\.(\d+)$/.exec(name);
  if (indexed) {
    const list = indexed[1] === "hidden_states" ? outputs.hiddenStates : outputs.attentions;
    return list?.[Number(indexed[2])];
  }
  const plain: Record<string, Float32Array | undefined> = {
    last_hidden_state: outputs.lastHiddenState,
    logits: outputs.logits,
    start_logits: outputs.startLogits,
    end_logits: outputs.endLogits,
    pooler_output: outputs.poolerOutput,
  };
  return plain[name];
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

export interface FixtureReport {
  /** Max |diff| of every float output in io.safetensors (Infinity when missing or mis-sized). */
  diffs: Record<string, number>;
  loss?: number;
  expectedLoss?: number;
}

/** Runs fixture `name` on `backend` and compares every output with Hugging Face's. */
export function checkForwardFixture(backend: Backend, name: string): FixtureReport {
  const dir = join(MODEL_FIXTURES, name);
  const io = SafetensorsFile.open(join(dir, "io.safetensors"));
  const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as { loss?: number };
  const model = loadModel(dir, { backend });
  const { inputs, labels } = readBatch(io);
  const hasLabels = Object.keys(labels).length > 0;
  const outputs = model.forward(inputs, hasLabels ? labels : undefined, {
    outputHiddenStates: true,
    outputAttentions: true,
  });
  const diffs: Record<string, number> = {};
  for (const tensor of io.names()) {
    if (tensor.startsWith("label.") || io.info(tensor).dtype !== "F32") continue;
    const ours = outputByName(outputs, tensor);
    diffs[tensor] = ours ? maxAbsDiff(ours, io.float32(tensor)) : Number.POSITIVE_INFINITY;
  }
  return { diffs, loss: outputs.loss, expectedLoss: meta.loss };
}
