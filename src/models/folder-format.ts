// What a model folder holds, made in memory: model.safetensors' tensors under their checkpoint
// keys and config.json's text. Node writes these files to disk (index.ts); the browser offers
// them for download. No file access here.

import { UserError } from "../errors.js";
import { configFileText, type ModelConfig } from "../io/config-format.js";
import { int8QuantizationConfig } from "../io/quantization-config.js";
import { encodeSafetensors, type TensorToWrite } from "../io/safetensors-format.js";
import type { Model } from "./types.js";
import { scaleKey } from "./weights.js";

/** A float tensor by itself: a weight that is not (yet) part of a model. */
export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export type WeightsDtype = "F32" | "F16";

/** The safetensors metadata transformers writes (and expects) in model.safetensors. */
export const CHECKPOINT_METADATA = { format: "pt" };

/**
 * The model's weights under their checkpoint keys: int8 weights as I8 beside their `_scale`
 * tensors, the rest in `dtype` (default F32).
 */
export function checkpointTensors(
  model: Model,
  dtype: WeightsDtype = "F32",
): Record<string, TensorToWrite> {
  const tensors: Record<string, TensorToWrite> = {};
  for (const param of model.parameters) {
    if (param.inferenceOnly) {
      throw new UserError(
        `${param.name} is held packed by the backend (the model was loaded for inference only): load it without \`inference\` to save it`,
      );
    }
    if (param.int8) {
      tensors[param.name] = { dtype: "I8", shape: param.shape, data: param.int8.values };
      tensors[scaleKey(param.name)] = {
        dtype: "F32",
        shape: [param.int8.rows, 1],
        data: param.int8.scales,
      };
    } else {
      tensors[param.name] = { dtype, shape: param.shape, data: param.data };
    }
  }
  return tensors;
}

/** Loose weights (a student being built, a row-wise masked LM) in `dtype`, by sorted key. */
export function weightTensors(
  weights: Map<string, Tensor>,
  dtype: WeightsDtype = "F32",
): Record<string, TensorToWrite> {
  const tensors: Record<string, TensorToWrite> = {};
  for (const name of [...weights.keys()].sort()) {
    const { shape, data } = weights.get(name) as Tensor;
    tensors[name] = { dtype, shape, data };
  }
  return tensors;
}

/**
 * The config saved with a model: `architectures` set to the model's, and quantization_config
 * saying how an int8 model is quantized (io/quantization-config.ts).
 */
export function savedConfig(model: Model, config: ModelConfig): ModelConfig {
  const raw = { ...config.raw };
  if (model.dtype === "int8") raw.quantization_config = int8QuantizationConfig();
  else delete raw.quantization_config;
  return { ...config, raw, architectures: [model.architecture] };
}

/** config.json and model.safetensors as bytes: the two files every model folder has. */
export function modelFolderFiles(
  config: ModelConfig,
  tensors: Record<string, TensorToWrite>,
  dtype: WeightsDtype = "F32",
): { "config.json": string; "model.safetensors": Uint8Array } {
  return {
    "config.json": configFileText(config, dtype),
    "model.safetensors": encodeSafetensors(tensors, CHECKPOINT_METADATA),
  };
}
