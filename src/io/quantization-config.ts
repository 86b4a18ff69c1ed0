// config.json's `quantization_config` for int8 models, in compressed-tensors' "int-quantized"
// form (what transformers reads for such checkpoints): Linear layers with int8 weights per output
// channel and 8-bit activations quantized per token at run time, and the word embeddings with int8
// weights per row. The tensors: `X.weight` I8 [out, in] and `X.weight_scale` F32 [out, 1].

import { UserError } from "../errors.js";

export function int8QuantizationConfig(): Record<string, unknown> {
  const weights = (strategy: string) => ({
    num_bits: 8,
    type: "int",
    symmetric: true,
    strategy,
    dynamic: false,
  });
  return {
    quant_method: "compressed-tensors",
    format: "int-quantized",
    quantization_status: "compressed",
    config_groups: {
      group_0: {
        targets: ["Linear"],
        weights: weights("channel"),
        input_activations: {
          num_bits: 8,
          type: "int",
          symmetric: false,
          strategy: "token",
          dynamic: true,
        },
      },
      group_1: { targets: ["Embedding"], weights: weights("channel") },
    },
    ignore: [],
  };
}

/** Refuses a quantization_config this project cannot run, saying what it is. */
export function checkQuantizationConfig(raw: Record<string, unknown>, source: string): void {
  const config = raw.quantization_config as Record<string, unknown> | undefined;
  if (config === undefined || config === null) return;
  const method = config.quant_method;
  const format = config.format;
  if (method !== "compressed-tensors" || format !== "int-quantized") {
    throw new UserError(
      `${source} has a quantization_config of method '${String(method)}' and format '${String(format)}'; only compressed-tensors int-quantized int8 models (written by \`distilbert quantize\`) can be loaded`,
    );
  }
}
