// The browser test's Web Worker (bundled by esbuild, see browser.test.ts): fetches a model fixture,
// runs it with the WebAssembly backend and posts the outputs back. It uses only the library's
// browser-safe path: parseConfig, SafetensorsFile.fromBytes, createModel, createBackend.

import { parseConfig } from "../src/io/config.js";
import { SafetensorsFile } from "../src/io/safetensors.js";
import { createModel } from "../src/models/index.js";
import { createBackend } from "../src/tensor/index.js";

export interface BrowserJob {
  /** URL of a model folder holding config.json, model.safetensors and io.safetensors. */
  fixture: string;
  threads: number;
}

export interface BrowserResult {
  backend: string;
  threads: number;
  crossOriginIsolated: boolean;
  logits: number[];
  lastHiddenState: number[];
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function run(job: BrowserJob): Promise<BrowserResult> {
  const config = parseConfig(await (await fetch(`${job.fixture}/config.json`)).json(), "config");
  const weights = SafetensorsFile.fromBytes(
    await fetchBytes(`${job.fixture}/model.safetensors`),
    "model.safetensors",
  );
  const io = SafetensorsFile.fromBytes(await fetchBytes(`${job.fixture}/io.safetensors`), "io");
  const backend = await createBackend("wasm", { threads: job.threads });
  const model = createModel(config, weights, backend);
  const shape = io.info("input_ids").shape;
  const outputs = model.forward({
    inputIds: io.int32("input_ids"),
    attentionMask: Float32Array.from(io.int32("attention_mask")),
    batch: shape[0],
    seq: shape[1],
  });
  return {
    backend: backend.name,
    threads: backend.threads,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    logits: Array.from(outputs.logits ?? []),
    lastHiddenState: Array.from(outputs.lastHiddenState),
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
