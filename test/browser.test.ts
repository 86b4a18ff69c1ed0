// The library in headless Chromium (Debian's /usr/bin/chromium through playwright-core; never a
// downloaded browser): a page served with the cross-origin isolation headers shared memory needs
// starts a Web Worker that imports the real browser bundle (built by scripts/build-browser.mjs, no
// stubs), loads a model fixture by URL and runs it with the WebAssembly backend, then runs the
// fill-mask pipeline on the embedded teacher, also by URL; both must equal Node's. Then the int8
// products of int8-cases.ts and the fixture loaded as int8, on each WebAssembly kernel set
// Chromium has (relaxed SIMD among them where the CPU has AVX-VNNI, which Node 20 cannot test).
// Skipped, saying why, only when Chromium is not installed (CI installs it: .ci/run).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
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
import { type FillMaskPrediction, pipeline } from "../src/pipelines/index.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { WasmBackend } from "../src/tensor/wasm/backend.js";
import type { BrowserJob, BrowserResult } from "./browser-worker.js";
import { PRODUCT_CASES, product, productInputs } from "./int8-cases.js";
import { MODEL_FIXTURES, maxAbsDiff } from "./models-fixtures.js";

const CHROMIUM = "/usr/bin/chromium";
const FIXTURE = "distilbert-seqcls";
const THREADS = 2;
const ROOT = join(import.meta.dirname, "..", "..");
const FILL_MASK_MODEL = join(ROOT, "models", "bert-mini-sotu");
const FILL_MASK_TEXT = "The [MASK] of the union is strong.";

const JOB: BrowserJob = {
  fixture: `/fixtures/${FIXTURE}`,
  fillMaskModel: "/models/bert-mini-sotu",
  fillMaskText: FILL_MASK_TEXT,
  threads: THREADS,
};

const PAGE = `<!doctype html>
<meta charset="utf-8">
<script type="module">
  const worker = new Worker("/worker.js", { type: "module" });
  worker.onmessage = (event) => { window.done = event.data; };
  worker.onerror = (event) => { window.done = { error: String(event.message) }; };
  worker.postMessage(${JSON.stringify(JOB)});
</script>`;

/** The browser bundle as shipped, built into a fresh folder by the package's own build script. */
function buildLibrary(): string {
  const outdir = mkdtempSync(join(tmpdir(), "distilbert-bundle-"));
  try {
    execFileSync(process.execPath, [join(ROOT, "scripts", "build-browser.mjs"), outdir], {
      stdio: "pipe",
    });
    return readFileSync(join(outdir, "distilbert.js"), "utf8");
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The worker alone: its import of the library becomes an import of the served bundle. */
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
        name: "library-bundle",
        setup(builder) {
          builder.onResolve({ filter: /\/src\/browser\.js$/ }, () => ({
            path: "/distilbert.js",
            external: true,
          }));
        },
      },
    ],
  });
  return result.outputFiles[0].text;
}

/** The file `prefix/NAME/FILE` names in `folder`, or undefined (names start with a word character). */
function servedFile(url: string, prefix: string, folder: string): string | undefined {
  const match = new RegExp(`^${prefix}/([\\w-]+)/(\\w[\\w.-]*)$`).exec(url);
  const path = match && join(folder, match[1], match[2]);
  return path && existsSync(path) ? path : undefined;
}

function serve(library: string, workerSource: string): Promise<Server> {
  const server = createServer((request, response) => {
    const headers = {
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Cross-Origin-Resource-Policy": "same-origin",
    };
    const url = request.url ?? "/";
    const file =
      servedFile(url, "/fixtures", MODEL_FIXTURES) ??
      servedFile(url, "/models", join(ROOT, "models"));
    if (url === "/") {
      response.writeHead(200, { ...headers, "Content-Type": "text/html" }).end(PAGE);
    } else if (url === "/worker.js" || url === "/distilbert.js") {
      const body = url === "/worker.js" ? workerSource : library;
      response.writeHead(200, { ...headers, "Content-Type": "text/javascript" }).end(body);
    } else if (file) {
      const body = readFileSync(file);
      response.writeHead(200, { ...headers, "Content-Type": "application/octet-stream" }).end(body);
    } else {
      response.writeHead(404, headers).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** Whether this CPU has AVX-VNNI (Linux's name for it in /proc/cpuinfo). */
function cpuHasAvxVnni(): boolean {
  if (!existsSync("/proc/cpuinfo")) return false;
  return /^flags\s*:.*\bavx_vnni\b/m.test(readFileSync("/proc/cpuinfo", "utf8"));
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

test("the browser bundle runs a model and a pipeline in headless Chromium, equal to Node", {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: apt-get install chromium`,
}, async () => {
  const server = await serve(buildLibrary(), await bundleWorker());
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
  const backend = await WasmBackend.create({ threads: THREADS });
  const model = loadModel(dir, { backend });
  const io = SafetensorsFile.open(join(dir, "io.safetensors"));
  const shape = io.info("input_ids").shape;
  const inputs = {
    inputIds: io.int32("input_ids"),
    attentionMask: Float32Array.from(io.int32("attention_mask")),
    batch: shape[0],
    seq: shape[1],
  };
  const node = model.forward(inputs);
  const logits = Float32Array.from(browser.logits);
  assert.ok(maxAbsDiff(logits, node.logits as Float32Array) <= 1e-6, "logits equal Node's");
  const hidden = Float32Array.from(browser.lastHiddenState);
  assert.ok(maxAbsDiff(hidden, node.lastHiddenState) <= 1e-6, "hidden state equals Node's");
  assert.ok(maxAbsDiff(logits, io.float32("logits")) <= 1e-4, "logits equal Hugging Face's");

  const fill = await pipeline("fill-mask", FILL_MASK_MODEL, { backend });
  const nodeFillMask = (await fill(FILL_MASK_TEXT)) as FillMaskPrediction[];
  assert.equal(browser.fillMask.length, 5);
  assert.deepEqual(
    browser.fillMask.map((p) => [p.token, p.token_str, p.sequence]),
    nodeFillMask.map((p) => [p.token, p.token_str, p.sequence]),
    "fill-mask's top 5 equal Node's",
  );
  browser.fillMask.forEach((p, i) => {
    assert.ok(Math.abs(p.score - nodeFillMask[i].score) <= 1e-6, `score ${i} equals Node's`);
  });

  // Int8: the same integers on every kernel set, so only the epilogue's rounding may differ.
  const kernelSets = browser.int8.map((result) => result.kernelSet);
  assert.equal(kernelSets.at(-1), "simd128");
  if (cpuHasAvxVnni()) {
    assert.deepEqual(kernelSets, ["relaxed-simd", "simd128"], "relaxed SIMD chosen with AVX-VNNI");
  }
  const reference = new ReferenceBackend();
  const expected = PRODUCT_CASES.map((c) => product(reference, c, productInputs(c)));
  const nodeInt8 = loadModel(dir, { backend, dtype: "int8" }).forward(inputs)
    .logits as Float32Array;
  for (const result of browser.int8) {
    PRODUCT_CASES.forEach((c, i) => {
      const largest = expected[i].reduce((worst, v) => Math.max(worst, Math.abs(v)), 1);
      const diff = maxAbsDiff(Float32Array.from(result.products[i]), expected[i]);
      assert.ok(diff <= 1e-6 * largest, `${result.kernelSet} ${c.m}x${c.n}x${c.k}: ${diff}`);
    });
    const diff = maxAbsDiff(Float32Array.from(result.logits), nodeInt8);
    assert.ok(diff <= 1e-6, `${result.kernelSet}: int8 logits differ from Node's by ${diff}`);
  }
});
