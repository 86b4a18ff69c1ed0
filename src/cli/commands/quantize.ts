// `distilbert quantize`: a model folder with int8 weights, about a quarter of its float size.

import { parseArgs } from "node:util";
import { weightBytes } from "../../distill/compare.js";
import { loadConfig } from "../../io/config.js";
import { loadModel, saveModel } from "../../models/index.js";
import type { Command } from "../commands.js";
import { checkOutDir, required } from "../options.js";

const help = `distilbert quantize --model IN --out OUT [--overwrite] [--json]

Writes OUT, a copy of the model folder IN whose Linear weights (every layer of every head) and word
embeddings are int8, one scale per output row (per token for the embeddings), symmetric. At run
time each input row of a Linear layer is quantized to 8 bits (asymmetric, per token), multiplied in
integers and scaled back; LayerNorms, biases, position and token-type embeddings stay float32.
The weights are written in compressed-tensors' int-quantized layout (X.weight as I8 beside
X.weight_scale, and a quantization_config in config.json), which every command and loadModel
read as int8 without further options. Accuracy and speed: see docs/int8.md.

Options:
  --model IN   a float model folder (config.json + model.safetensors)
  --out OUT    where to write the quantized folder (new or empty, not IN itself)
  --overwrite  write into a non-empty --out
  --json       print {"out", "float_bytes", "int8_bytes"} as JSON

Example:
  distilbert quantize --model models/bert-mini-sotu-party --out out/bert-mini-sotu-party-int8
  distilbert predict text-classification --model out/bert-mini-sotu-party-int8 "We will cut taxes."`;

export const quantize: Command = {
  summary: "write a model folder with int8 weights (a quarter of the float size)",
  help,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: "string" },
        out: { type: "string" },
        overwrite: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
      },
    });
    const modelDir = required("quantize", "model", values.model);
    const outDir = required("quantize", "out", values.out);
    checkOutDir(outDir, [modelDir], values, false);
    const model = loadModel(modelDir, { dtype: "int8" });
    saveModel(model, loadConfig(modelDir), outDir, { tokenizerFrom: modelDir });
    const floatBytes = weightBytes(modelDir);
    const int8Bytes = weightBytes(outDir);
    if (values.json) {
      const result = { out: outDir, float_bytes: floatBytes, int8_bytes: int8Bytes };
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
      process.stdout.write(
        `${outDir}: int8 weights ${mib(int8Bytes)} (${mib(floatBytes)} as stored in ${modelDir}, ${((100 * int8Bytes) / floatBytes).toFixed(1)}%)\n`,
      );
    }
    return 0;
  },
};
