// `distilbert export`: a model folder as ONNX, in the layout transformers.js loads.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { UserError } from "../../errors.js";
import { loadModel } from "../../models/index.js";
import { exportOnnx } from "../../models/onnx-export.js";
import { ONNX_OPSETS } from "../../models/onnx-graph.js";
import { verifyOnnx } from "../../models/onnx-verify.js";
import { loadTokenizer } from "../../tokenizer/index.js";
import type { Command } from "../commands.js";
import { checkOutDir, positiveInt, required } from "../options.js";

const help = `distilbert export --model DIR --format onnx --out OUT [--quantize int8] [--opset N] [--verify]

Writes OUT as transformers.js and onnxruntime load it: config.json, the tokenizer files
(tokenizer.json included), onnx/model.onnx and, with --quantize int8, onnx/model_quantized.onnx.
The graph is written from the model's own layers (no Python): inputs input_ids, attention_mask
(and token_type_ids for BERT), int64, [batch_size, sequence_length] ([batch_size, num_choices,
sequence_length] for multiple choice); outputs named as Hugging Face's exports name them
(logits; start_logits and end_logits; last_hidden_state, and pooler_output for BERT). The int8
graph is the form onnxruntime's dynamic quantization makes (DynamicQuantizeLinear + MatMulInteger,
int8 weights with a scale per output column) from our own quantized weights, with int8 word
embeddings: what transformers.js loads as dtype "q8".

Options:
  --model DIR       a DistilBERT or BERT folder, any head
  --format onnx     the only format so far
  --out OUT         the export folder (new or empty, or --overwrite)
  --overwrite       write into a non-empty OUT
  --quantize int8   also write onnx/model_quantized.onnx
  --opset N         ONNX opset, ${ONNX_OPSETS.min}-${ONNX_OPSETS.max} (default ${ONNX_OPSETS.default})
  --verify          run each file with onnxruntime-node (npm install onnxruntime-node) on a
                    padded sample batch and compare with our forward: float32 must agree within
                    1e-4; the int8 file's difference from our int8 model is reported
  --json            print {"out", "files", "inputs", "outputs", "verify"} as JSON

Example:
  distilbert export --model models/bert-mini-sotu-party --format onnx --quantize int8 \\
    --out out/bert-mini-sotu-party-onnx --verify`;

const FLOAT_TOLERANCE = 1e-4;

export const exportCommand: Command = {
  summary: "export a model as ONNX for transformers.js and onnxruntime (float32 and int8)",
  help,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: "string" },
        format: { type: "string" },
        out: { type: "string" },
        overwrite: { type: "boolean", default: false },
        quantize: { type: "string" },
        opset: { type: "string" },
        verify: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
      },
    });
    const modelDir = required("export", "model", values.model);
    const outDir = required("export", "out", values.out);
    if (required("export", "format", values.format) !== "onnx") {
      throw new UserError(`--format must be onnx, got '${values.format}'`);
    }
    if (values.quantize !== undefined && values.quantize !== "int8") {
      throw new UserError(`--quantize must be int8, got '${values.quantize}'`);
    }
    checkOutDir(outDir, [modelDir], values, false);
    const result = exportOnnx(modelDir, outDir, {
      quantize: values.quantize as "int8" | undefined,
      opset: positiveInt("opset", values.opset) ?? undefined,
    });
    if (!result.tokenizer) {
      console.warn(
        `distilbert-ts: ${modelDir} has no tokenizer, so the export has none: onnxruntime runs it, transformers.js needs tokenizer.json`,
      );
    }
    let verify: Record<string, Record<string, number>> | undefined;
    if (values.verify) {
      const tokenizer = existsSync(join(outDir, "tokenizer.json")) ? loadTokenizer(outDir) : null;
      verify = {};
      const runs: [string, string | undefined, "float32" | "int8"][] = [
        ["model.onnx", result.files.model, "float32"],
        ["model_quantized.onnx", result.files.quantized, "int8"],
      ];
      for (const [name, file, dtype] of runs) {
        if (!file) continue;
        const model = loadModel(modelDir, { dtype });
        verify[name] = await verifyOnnx(file, model, tokenizer, result.inputs, result.outputs);
      }
    }
    if (values.json) {
      const out = {
        out: outDir,
        files: result.files,
        inputs: result.inputs,
        outputs: result.outputs,
        verify,
      };
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } else {
      process.stdout.write(
        `exported ${modelDir} to ${outDir}: ${Object.values(result.files).join(", ")} (inputs ${result.inputs.join(", ")}; outputs ${result.outputs.join(", ")})\n`,
      );
      for (const [name, diffs] of Object.entries(verify ?? {})) {
        const shown = Object.entries(diffs).map(([o, d]) => `${o} ${d.toExponential(2)}`);
        process.stdout.write(`verify ${name}: max |onnxruntime - ours| ${shown.join(", ")}\n`);
      }
    }
    const float = verify?.["model.onnx"];
    if (float && Object.values(float).some((d) => !(d <= FLOAT_TOLERANCE))) {
      throw new UserError(
        `the float32 export differs from the model by more than ${FLOAT_TOLERANCE}: please report it`,
      );
    }
    return 0;
  },
};
