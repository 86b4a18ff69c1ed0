// A model folder exported as transformers.js reads it: config.json, the tokenizer files
// (tokenizer.json included), onnx/model.onnx and, quantized, onnx/model_quantized.onnx. Each file
// is written atomically.

import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { loadConfig, saveConfig } from "../io/config.js";
import { encodeModelProto } from "../io/onnx-proto.js";
import { copyTokenizerFiles, loadTokenizer, saveTokenizer } from "../tokenizer/files.js";
import { loadModel } from "./index.js";
import { ONNX_OPSETS, onnxGraph } from "./onnx-graph.js";

export interface OnnxExportOptions {
  /** Also write onnx/model_quantized.onnx from the int8 model. */
  quantize?: "int8";
  opset?: number;
}

export interface OnnxExport {
  /** The ONNX files written, by role. */
  files: { model: string; quantized?: string };
  inputs: string[];
  outputs: string[];
  /** False when the folder had no tokenizer (onnxruntime needs none; transformers.js does). */
  tokenizer: boolean;
}

export function exportOnnx(
  modelDir: string,
  outDir: string,
  options: OnnxExportOptions = {},
): OnnxExport {
  const opset = options.opset ?? ONNX_OPSETS.default;
  const float = loadModel(modelDir);
  const graph = onnxGraph(float, opset);
  mkdirSync(join(outDir, "onnx"), { recursive: true });
  const files: OnnxExport["files"] = { model: join(outDir, "onnx", "model.onnx") };
  writeFileAtomic(files.model, encodeModelProto(graph.model));
  if (options.quantize === "int8") {
    const int8 = loadModel(modelDir, { dtype: "int8" });
    files.quantized = join(outDir, "onnx", "model_quantized.onnx");
    writeFileAtomic(files.quantized, encodeModelProto(onnxGraph(int8, opset).model));
  }
  const config = loadConfig(modelDir);
  saveConfig({ ...config, architectures: [float.architecture] }, outDir);
  const tokenizer = ["tokenizer.json", "vocab.txt"].some((name) =>
    existsSync(join(modelDir, name)),
  );
  if (tokenizer) {
    copyTokenizerFiles(modelDir, outDir);
    if (!existsSync(join(outDir, "tokenizer.json"))) saveTokenizer(loadTokenizer(modelDir), outDir);
  }
  return { files, inputs: graph.inputs, outputs: graph.outputs, tokenizer };
}
