// The browser test's module Web Worker (see browser.test.ts): it imports the library's real browser
// bundle (its import of ../src/browser.js is pointed at the served dist/browser/distilbert.js),
// loads models by URL, runs them with the WebAssembly backend, runs the int8 products of
// int8-cases.ts on each kernel set this engine has, and posts the outputs back.

import {
  createBackend,
  type FillMaskPrediction,
  filesAtUrl,
  loadModelFrom,
  type ModelInputs,
  pipeline,
  SafetensorsFile,
  WasmBackend,
  type WasmKernelSet,
  wasmKernelSets,
} from "../src/browser.js";
import { PRODUCT_CASES, product, productInputs } from "./int8-cases.js";

export interface BrowserJob {
  /** URL of a model fixture folder: config.json, model.safetensors and io.safetensors. */
  fixture: string;
  /** URL of a masked-LM model folder with its tokenizer, for the fill-mask pipeline. */
  fillMaskModel: string;
  fillMaskText: string;
  threads: number;
}

export interface BrowserResult {
  backend: string;
  threads: number;
  crossOriginIsolated: boolean;
  logits: number[];
  lastHiddenState: number[];
  fillMask: FillMaskPrediction[];
  /** Each kernel set's outputs of PRODUCT_CASES, in order, and of the fixture loaded as int8. */
  int8: { kernelSet: WasmKernelSet; products: number[][]; logits: number[] }[];
}

async function int8Outputs(job: BrowserJob, ioInputs: ModelInputs): Promise<BrowserResult["int8"]> {
  const results: BrowserResult["int8"] = [];
  for (const kernelSet of await wasmKernelSets()) {
    const backend = await WasmBackend.create({ threads: job.threads, kernelSet });
    const products = PRODUCT_CASES.map((c) => Array.from(product(backend, c, productInputs(c))));
    const model = await loadModelFrom(job.fixture, { backend, dtype: "int8" });
    const logits = Array.from(model.forward(ioInputs).logits ?? []);
    results.push({ kernelSet, products, logits });
  }
  return results;
}

async function run(job: BrowserJob): Promise<BrowserResult> {
  const backend = await createBackend("wasm", { threads: job.threads });
  const model = await loadModelFrom(job.fixture, { backend });
  const ioBytes = await filesAtUrl(job.fixture).read("io.safetensors");
  if (!ioBytes) throw new Error(`${job.fixture}/io.safetensors is missing`);
  const io = SafetensorsFile.fromBytes(ioBytes, "io.safetensors");
  const shape = io.info("input_ids").shape;
  const inputs: ModelInputs = {
    inputIds: io.int32("input_ids"),
    attentionMask: Float32Array.from(io.int32("attention_mask")),
    batch: shape[0],
    seq: shape[1],
  };
  const outputs = model.forward(inputs);
  const fillMask = await pipeline("fill-mask", job.fillMaskModel, { backend });
  return {
    backend: backend.name,
    threads: backend.threads,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    logits: Array.from(outputs.logits ?? []),
    lastHiddenState: Array.from(outputs.lastHiddenState),
    fillMask: (await fillMask(job.fillMaskText)) as FillMaskPrediction[],
    int8: await int8Outputs(job, inputs),
  };
}

const scope = globalThis as unknown as {
  onmessage: (event: { data: BrowserJob }) => void;
  postMessage(message: unknown): void;
};
scope.onmessage = (event) => {
  run(event.data).then(
    (result) => scope.postMessage({ result }),
    (error: Error) => scope.postMessage({ error: `${error.message}\n${error.stack}` }),
  );
};
