// The library in headless Chromium (Debian's /usr/bin/chromium through playwright-core; never a
// downloaded browser): a page served with the cross-origin isolation headers shared memory needs
// runs a model fixture with the WebAssembly backend in a Web Worker, and its outputs must equal
// Node's. Skipped, saying why, only when Chromium is not installed (CI installs it: .ci/run).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { SafetensorsFile } from "../src/io/safetensors.js";
import { loadModel } from "../src/models/index.js";
import { WasmBackend } from "../src/tensor/wasm/backend.js";
import type { BrowserJob, BrowserResult } from "./browser-worker.js";
import { MODEL_FIXTURES, maxAbsDiff } from "./models-fixtures.js";

const CHROMIUM = "/usr/bin/chromium";
const FIXTURE = "distilbert-seqcls";
const THREADS = 2;
const ROOT = join(import.meta.dirname, "..", "..");

const PAGE = `<!doctype html>
<meta charset="utf-8">
<script type="module">
  const worker = new Worker("/worker.js", { type: "module" });
  worker.onmessage = (event) => { window.done = event.data; };
  worker.onerror = (event) => { window.done = { error: String(event.message) }; };
  worker.postMessage(${JSON.stringify({ fixture: `/fixtures/${FIXTURE}`, threads: THREADS } satisfies BrowserJob)});
</script>`;

/** The worker and the library it imports as one ES module; Node's modules become empty stubs. */
async function bundleWorker(): Promise<string> {
  const result = await build({
    entryPoints: [join(ROOT, "test", "browser-worker.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "silent",
    plugins: [
      {
        name: "node-builtins-stub",
        setup(builder) {
          builder.onResolve({ filter: /^node:/ }, (args) => ({
            path: args.path,
            namespace: "stub",
          }));
          builder.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
            contents: "module.exports = {};",
            loader: "js",
          }));
        },
      },
    ],
  });
  return result.outputFiles[0].text;
}

function serve(workerSource: string): Promise<Server> {
  const server = createServer((request, response) => {
    const headers = {
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Cross-Origin-Resource-Policy": "same-origin",
    };
    const url = request.url ?? "/";
    const fixture = /^\/fixtures\/([\w-]+)\/([\w.]+)$/.exec(url);
    if (url === "/") {
      response.writeHead(200, { ...headers, "Content-Type": "text/html" }).end(PAGE);
    } else if (url === "/worker.js") {
      response.writeHead(200, { ...headers, "Content-Type": "text/javascript" }).end(workerSource);
    } else if (fixture && existsSync(join(MODEL_FIXTURES, fixture[1], fixture[2]))) {
      const body = readFileSync(join(MODEL_FIXTURES, fixture[1], fixture[2]));
      response.writeHead(200, { ...headers, "Content-Type": "application/octet-stream" }).end(body);
    } else {
      response.writeHead(404, headers).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function runInChromium(origin: string): Promise<BrowserResult> {
  const profile = mkdtempSync(join(tmpdir(), "distilbert-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const page = await context.newPage();
    await page.goto(origin);
    const handle = await page.waitForFunction(() => (window as { done?: unknown }).done, null, {
      timeout: 60_000,
    });
    const done = (await handle.jsonValue()) as { result?: BrowserResult; error?: string };
    if (done.error) throw new Error(`in the browser: ${done.error}`);
    return done.result as BrowserResult;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

test("a model runs in headless Chromium with the WebAssembly backend and equals Node", {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: apt-get install chromium`,
}, async () => {
  const server = await serve(await bundleWorker());
  let browser: BrowserResult;
  try {
    const { port } = server.address() as AddressInfo;
    browser = await runInChromium(`http://127.0.0.1:${port}`);
  } finally {
    server.close();
  }
  assert.equal(browser.crossOriginIsolated, true);
  assert.equal(browser.backend, "wasm");
  assert.equal(browser.threads, THREADS);

  const dir = join(MODEL_FIXTURES, FIXTURE);
  const model = loadModel(dir, { backend: await WasmBackend.create({ threads: THREADS }) });
  const io = SafetensorsFile.open(join(dir, "io.safetensors"));
  const shape = io.info("input_ids").shape;
  const node = model.forward({
    inputIds: io.int32("input_ids"),
    attentionMask: Float32Array.from(io.int32("attention_mask")),
    batch: shape[0],
    seq: shape[1],
  });
  const logits = Float32Array.from(browser.logits);
  assert.ok(maxAbsDiff(logits, node.logits as Float32Array) <= 1e-6, "logits equal Node's");
  const hidden = Float32Array.from(browser.lastHiddenState);
  assert.ok(maxAbsDiff(hidden, node.lastHiddenState) <= 1e-6, "hidden state equals Node's");
  assert.ok(maxAbsDiff(logits, io.float32("logits")) <= 1e-4, "logits equal Hugging Face's");
});
