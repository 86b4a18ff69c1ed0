// A model folder exported as transformers.js reads it: config.json, the tokenizer files
// (tokenizer.json included), onnx/model.onnx and, quantized, onnx/model_quantized.onnx. Each file
// is written atomically; weights past 2 GB go to a side file (ONNX's external data).

import { existsSync, mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { saveConfig } from "../io/config.js";
import { encodeModelProto } from "../io/onnx-proto.js";
import { copyTokenizerFiles, loadTokenizer, saveTokenizer } from "../tokenizer/files.js";
import { loadModel } from "./index.js";
import { ONNX_OPSETS, onnxGraph } from "./onnx-graph.js";

export interface OnnxExportOptions {
  /** Also write onnx/model_quantized.onnx from the int8 model. */
  quantize?: "int8";
  opset?: number;
  /** Weights past this many bytes go to a side file (protobuf's limit is 2 GB). */
  externalDataAbove?: number;
}

/** Past this, a model's weights leave the protobuf for FILE.onnx_data, as torch.onnx does. */
const EXTERNAL_DATA_ABOVE = 1.8e9;

interface TensorWithData {
  name: string;
  raw_data?: Uint8Array;
  data_location?: number;
  external_data?: { key: string; value: string }[];
}

/**
 * Writes the ModelProto to `path`; when its initializers hold more than `externalAbove` bytes,
 * the data of those of 1 KB or more goes to `path` + "_data" (ONNX's external data: location, offset, length), which
 * onnxruntime and transformers.js read beside the model.
 */
function writeOnnxFile(path: string, model: Record<string, unknown>, externalAbove: number) {
  const initializers = (model.graph as { initializer: TensorWithData[] }).initializer;
  const bytes = initializers.reduce((sum, t) => sum + (t.raw_data?.byteLength ?? 0), 0);
  if (bytes > externalAbove) {
    const location = `${basename(path)}_data`;
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (const tensor of initializers) {
      const data = tensor.raw_data as Uint8Array;
      // Small constants (shapes, axes) stay inline: shape inference must read them.
      if (data.byteLength < 1024) continue;
      tensor.data_location = 1;
      tensor.external_data = [
        { key: "location", value: location },
        { key: "offset", value: String(offset) },
        { key: "length", value: String(data.byteLength) },
      ];
      delete tensor.raw_data;
      chunks.push(data);
      offset += data.byteLength;
    }
    writeFileAtomic(`${path}_data`, chunks);
  }
  writeFileAtomic(path, encodeModelProto(model));
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
  const externalAbove = options.externalDataAbove ?? EXTERNAL_DATA_ABOVE;
  writeOnnxFile(files.model, graph.model, externalAbove);
  if (options.quantize === "int8") {
    const int8 = loadModel(modelDir, { dtype: "int8" });
    files.quantized = join(outDir, "onnx", "model_quantized.onnx");
    writeOnnxFile(files.quantized, onnxGraph(int8, opset).model, externalAbove);
  }
  saveConfig({ ...float.config, architectures: [float.architecture] }, outDir);
  const tokenizer = ["tokenizer.json", "vocab.txt"].some((name) =>
    existsSync(join(modelDir, name)),
  );
  if (tokenizer) {
    copyTokenizerFiles(modelDir, outDir);
    if (!existsSync(join(outDir, "tokenizer.json"))) saveTokenizer(loadTokenizer(modelDir), outDir);
  }
  return { files, inputs: graph.inputs, outputs: graph.outputs, tokenizer };
}
