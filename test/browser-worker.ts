// The browser test's module Web Worker (see browser.test.ts): it imports the library's real browser
// bundle (its import of ../src/browser.js is pointed at the served dist/browser/distilbert.js),
// loads models by URL, runs them with the WebAssembly backend and posts the outputs back.

import {
  createBackend,
  type FillMaskPrediction,
  filesAtUrl,
  loadModelFrom,
  pipeline,
  SafetensorsFile,
} from "../src/browser.js";

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
}

async function run(job: BrowserJob): Promise<BrowserResult> {
  const backend = await createBackend("wasm", { threads: job.threads });
  const model = await loadModelFrom(job.fixture, { backend });
  const ioBytes = await filesAtUrl(job.fixture).read("io.safetensors");
  if (!ioBytes) throw new Error(`${job.fixture}/io.safetensors is missing`);
  const io = SafetensorsFile.fromBytes(ioBytes, "io.safetensors");
  const shape = io.info("input_ids").shape;
  const outputs = model.forward({
    inputIds: io.int32("input_ids"),
    attentionMask: Float32Array.from(io.int32("attention_mask")),
    batch: shape[0],
    seq: shape[1],
  });
  const fillMask = await pipeline("fill-mask", job.fillMaskModel, { backend });
  return {
    backend: backend.name,
    threads: backend.threads,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    logits: Array.from(outputs.logits ?? []),
    lastHiddenState: Array.from(outputs.lastHiddenState),
    fillMask: (await fillMask(job.fillMaskText)) as FillMaskPrediction[],
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
