// Checks an exported ONNX file against our own forward: both run the same padded batch with
// onnxruntime-node (an optional dependency: only --verify needs it), and each output's largest
// difference is reported.

import { UserError } from "../errors.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type { TransformerModel } from "./model.js";
import type { ModelInputs, ModelOutputs } from "./types.js";

const SAMPLE_TEXTS = ["Hello, my dog is cute.", "The capital of France is Paris, a city of art."];

/** Two texts of different lengths (so one is padded), and two choices each for multiple choice. */
function sampleInputs(model: TransformerModel, tokenizer: Tokenizer | null): ModelInputs {
  const rows = model.head === "multiple-choice" ? 4 : 2;
  const encodings = Array.from({ length: rows }, (_, i) => {
    const text = SAMPLE_TEXTS[i % 2];
    if (tokenizer) return tokenizer.encode(text).ids;
    // No tokenizer: ids below the vocabulary, 5 + 3i tokens long.
    return Array.from(
      { length: 5 + 3 * i },
      (_, t) => (7 * t + 11 * i + 1) % model.config.vocabSize,
    );
  });
  const seq = Math.max(...encodings.map((ids) => ids.length));
  const inputIds = new Int32Array(rows * seq);
  const attentionMask = new Float32Array(rows * seq);
  encodings.forEach((ids, r) => {
    inputIds.set(ids, r * seq);
    attentionMask.fill(1, r * seq, r * seq + ids.length);
  });
  const batch = model.head === "multiple-choice" ? rows / 2 : rows;
  const choices = model.head === "multiple-choice" ? 2 : undefined;
  const tokenTypeIds = model.config.modelType === "bert" ? new Int32Array(rows * seq) : undefined;
  return { inputIds, attentionMask, tokenTypeIds, batch, seq, choices };
}

const OUTPUT_FIELDS: Record<string, keyof ModelOutputs> = {
  last_hidden_state: "lastHiddenState",
  pooler_output: "poolerOutput",
  logits: "logits",
  start_logits: "startLogits",
  end_logits: "endLogits",
};

/** Each output's max |ONNX - ours| on a sample batch. */
export async function verifyOnnx(
  file: string,
  model: TransformerModel,
  tokenizer: Tokenizer | null,
  inputNames: string[],
  outputNames: string[],
): Promise<Record<string, number>> {
  let ort: typeof import("onnxruntime-node");
  try {
    ort = await import("onnxruntime-node");
  } catch {
    throw new UserError(
      "--verify runs the export with onnxruntime-node: npm install onnxruntime-node",
    );
  }
  const inputs = sampleInputs(model, tokenizer);
  const shape = inputs.choices
    ? [inputs.batch, inputs.choices, inputs.seq]
    : [inputs.batch, inputs.seq];
  const tensors: Record<string, ArrayLike<number>> = {
    input_ids: inputs.inputIds,
    attention_mask: inputs.attentionMask as Float32Array,
    token_type_ids: inputs.tokenTypeIds ?? [],
  };
  const feeds = Object.fromEntries(
    inputNames.map((name) => [
      name,
      new ort.Tensor(
        "int64",
        BigInt64Array.from(tensors[name], (v) => BigInt(v)),
        shape,
      ),
    ]),
  );
  const session = await ort.InferenceSession.create(file);
  const theirs = await session.run(feeds);
  const ours = model.forward(inputs);
  const diffs: Record<string, number> = {};
  for (const name of outputNames) {
    const a = theirs[name].data as Float32Array;
    const b = ours[OUTPUT_FIELDS[name]] as Float32Array;
    let worst = a.length === b.length ? 0 : Number.POSITIVE_INFINITY;
    for (let i = 0; i < a.length && worst < Number.POSITIVE_INFINITY; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
    }
    diffs[name] = worst;
  }
  await session.release();
  return diffs;
}
