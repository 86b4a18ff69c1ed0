// Int8 inference: the quantization arithmetic, every backend's and kernel set's int8 product
// against the reference on awkward shapes, int8 models against their float originals on the model
// fixtures, and quantized folders written, read back, and refused when damaged.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SafetensorsFile, type TensorToWrite, writeSafetensors } from "../src/io/safetensors.js";
import { loadModel } from "../src/models/index.js";
import type { Backend } from "../src/tensor/backend.js";
import {
  dequantize,
  quantizeActivationRow,
  quantizeRows,
  roundHalfEven,
} from "../src/tensor/int8.js";
import { NativeBackend, nativeKernelSets } from "../src/tensor/native/native-backend.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { WasmBackend } from "../src/tensor/wasm/backend.js";
import { PRODUCT_CASES, type ProductCase, product, productInputs, random } from "./int8-cases.js";
import {
  FORWARD_FIXTURES,
  MODEL_FIXTURES,
  maxAbsDiff,
  readBatch,
  TEACHER_DIR,
} from "./models-fixtures.js";

const CLI = join(import.meta.dirname, "..", "src", "cli", "main.js");
const reference = new ReferenceBackend();

/** Every int8 implementation: each native kernel set this CPU runs and wasm, at 1 and 2 threads. */
async function int8Backends(): Promise<{ label: string; backend: Backend }[]> {
  const list: { label: string; backend: Backend }[] = [];
  for (const threads of [1, 2]) {
    list.push({ label: `wasm/${threads}`, backend: await WasmBackend.create({ threads }) });
    for (const kernelSet of nativeKernelSets()) {
      list.push({
        label: `native ${kernelSet}/${threads}`,
        backend: new NativeBackend({ threads, kernelSet }),
      });
    }
  }
  return list;
}

const backends = await int8Backends();

function maxAbs(values: Float32Array): number {
  let worst = 0;
  for (const v of values) worst = Math.max(worst, Math.abs(v));
  return worst;
}

test("rounding is half to even, as the vector units round", () => {
  assert.deepEqual(
    [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6].map(roundHalfEven),
    [0, 2, 2, -0, -2, -2, 2, -3],
  );
});

test("weights round-trip within half a step per row; a zero row stays zero", () => {
  const rows = 5;
  const cols = 37;
  const w = random(rows * cols, 3, 2);
  w.fill(0, 2 * cols, 3 * cols);
  const q = quantizeRows(w, rows, cols);
  assert.equal(q.scales[2], 0);
  const back = dequantize(q);
  for (let r = 0; r < rows; r++) {
    const row = w.subarray(r * cols, (r + 1) * cols);
    assert.ok(Math.abs(q.scales[r] * 127 - maxAbs(row)) <= 1e-6 * maxAbs(row) + 1e-30);
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      assert.ok(Math.abs(back[i] - w[i]) <= q.scales[r] / 2 + 1e-7, `row ${r} col ${c}`);
      assert.ok(Math.abs(q.values[i]) <= 127);
    }
  }
});

test("an activation row maps 0 exactly to its zero point and the rest within half a step", () => {
  for (const [seed, offset] of [
    [1, 0],
    [2, 0.7],
    [3, -0.9],
  ]) {
    const k = 29;
    const x = random(k, seed).map((v) => v + offset);
    x[5] = 0;
    const out = new Uint8Array(k);
    const { scale, zeroPoint } = quantizeActivationRow(x, 0, k, out);
    assert.equal(out[5], zeroPoint);
    for (let p = 0; p < k; p++) {
      assert.ok(Math.abs((out[p] - zeroPoint) * scale - x[p]) <= scale / 2 + 1e-7, `p ${p}`);
    }
  }
  const zeros = new Uint8Array(4);
  assert.deepEqual(quantizeActivationRow(new Float32Array(4), 0, 4, zeros), {
    scale: 0,
    zeroPoint: 0,
  });
});

for (const c of PRODUCT_CASES) {
  test(`int8 product ${c.m}x${c.n}x${c.k} equals the reference on every backend`, () => {
    const inputs = productInputs(c);
    const expected = product(reference, c, inputs);
    // The reference itself: close to the float product, as far as 8 bits allow.
    const exact = new Float32Array(c.m * c.n);
    reference.matmul(inputs.a, dequantize(inputs.w), exact, c.m, c.n, c.k, {
      transB: true,
      bias: inputs.bias,
      residual: inputs.residual,
    });
    const rowError = 3 * (6 / 255) * Math.sqrt(c.k);
    assert.ok(maxAbsDiff(expected, exact) <= rowError, `reference ${maxAbsDiff(expected, exact)}`);
    // Every backend sums the same integers: only the float epilogue's rounding may differ.
    const tolerance = 1e-6 * Math.max(1, maxAbs(expected));
    for (const { label, backend } of backends) {
      const diff = maxAbsDiff(product(backend, c, inputs), expected);
      assert.ok(diff <= tolerance, `${label}: max |diff| ${diff}`);
    }
  });
}

test("a packed weight is reused, and a second weight of the same shape is not confused with it", () => {
  for (const { label, backend } of backends) {
    const a = random(4 * 24, 1);
    const first = quantizeRows(random(10 * 24, 2), 10, 24);
    const second = quantizeRows(random(10 * 24, 3), 10, 24);
    const c: ProductCase = { m: 4, n: 10, k: 24, bias: false, residual: false };
    for (const w of [first, second, first]) {
      const inputs = { a, w };
      const diff = maxAbsDiff(product(backend, c, inputs), product(reference, c, inputs));
      assert.ok(diff <= 1e-5, `${label}: ${diff}`);
    }
  }
});

/** Relative tolerance of an int8 model's outputs against its float model's largest magnitude. */
const MODEL_TOLERANCE = 0.03;
/**
 * Between backends the integer sums are equal, but the float kernels around them differ in the
 * last bits, and a value that rounds to the other side of a quantization step moves the next
 * product by one step: 1% of the largest magnitude covers that (measured: up to 0.55%).
 */
const BACKEND_TOLERANCE = 0.01;

for (const name of FORWARD_FIXTURES) {
  test(`${name} in int8 stays within 3% of float, and every backend within 1%`, () => {
    const dir = join(MODEL_FIXTURES, name);
    const { inputs } = readBatch(SafetensorsFile.open(join(dir, "io.safetensors")));
    const floatOut = loadModel(dir).forward(inputs);
    const expected = loadModel(dir, { dtype: "int8" }).forward(inputs);
    const keys = ["lastHiddenState", "logits", "startLogits", "endLogits"] as const;
    for (const key of keys) {
      const f = floatOut[key];
      const q = expected[key];
      if (!f || !q) continue;
      const diff = maxAbsDiff(q, f);
      assert.ok(diff <= MODEL_TOLERANCE * maxAbs(f), `${key}: ${diff} of ${maxAbs(f)}`);
    }
    for (const { label, backend } of backends) {
      const out = loadModel(dir, { backend, dtype: "int8" }).forward(inputs);
      for (const key of keys) {
        if (!expected[key]) continue;
        const want = expected[key] as Float32Array;
        const diff = maxAbsDiff(out[key] as Float32Array, want);
        assert.ok(diff <= BACKEND_TOLERANCE * maxAbs(want), `${label} ${key}: ${diff}`);
      }
    }
  });
}

function cli(args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
}

function cliError(args: string[]): string {
  try {
    execFileSync(process.execPath, [CLI, ...args], { encoding: "utf8", stdio: "pipe" });
  } catch (error) {
    return String((error as { stderr: string }).stderr);
  }
  assert.fail(`distilbert ${args.join(" ")} succeeded`);
}

test("distilbert quantize writes a compressed-tensors folder that loads as int8 everywhere", () => {
  const out = mkdtempSync(join(tmpdir(), "int8-"));
  try {
    const result = JSON.parse(cli(["quantize", "--model", TEACHER_DIR, "--out", out, "--json"]));
    assert.equal(result.int8_bytes, statSync(join(out, "model.safetensors")).size);
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    assert.equal(config.quantization_config.quant_method, "compressed-tensors");
    assert.equal(config.quantization_config.format, "int-quantized");
    const file = SafetensorsFile.open(join(out, "model.safetensors"));
    const word = "bert.embeddings.word_embeddings.weight";
    assert.equal(file.info(word).dtype, "I8");
    assert.deepEqual(file.info(`${word}_scale`).shape, [file.info(word).shape[0], 1]);
    assert.equal(file.info("bert.embeddings.LayerNorm.weight").dtype, "F32");
    // The teacher is stored in float16; as float32 its weights would take twice as much.
    assert.ok(result.int8_bytes < 0.56 * result.float_bytes, JSON.stringify(result));
    readFileSync(join(out, "tokenizer.json"));

    const loaded = loadModel(out);
    assert.equal(loaded.dtype, "int8");
    const atLoad = loadModel(TEACHER_DIR, { dtype: "int8" });
    const inputs = { inputIds: Int32Array.from([2, 1996, 2110, 1997, 3, 102]), batch: 1, seq: 6 };
    const a = Float32Array.from(loaded.forward(inputs).logits as Float32Array);
    assert.equal(maxAbsDiff(a, atLoad.forward(inputs).logits as Float32Array), 0);
    assert.throws(() => loaded.enableGradients(), /int8 model runs inference only/);

    const fill = JSON.parse(cli(["predict", "fill-mask", "--model", out, "The [MASK] of it."]));
    assert.equal(fill.length, 5);
    const bench = cli(["bench", "--model", out, "--shapes", "1x8", "--runs", "1", "--json"]);
    const lines = bench
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map((line) => [line.dtype, line.step]),
      [["int8", "inference"]],
    );
    assert.match(
      cliError(["quantize", "--model", out, "--out", out]),
      /is also an input of this run/,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("a damaged quantized folder gets an error naming the fault", () => {
  const out = mkdtempSync(join(tmpdir(), "int8-bad-"));
  try {
    const dir = join(MODEL_FIXTURES, "distilbert-seqcls");
    cli(["quantize", "--model", dir, "--out", out]);
    const path = join(out, "model.safetensors");
    const file = SafetensorsFile.open(path);
    const tensors: Record<string, TensorToWrite> = {};
    for (const name of file.names()) {
      const info = file.info(name);
      const data = info.dtype === "I8" ? file.int8(name) : file.float32(name);
      tensors[name] = { dtype: info.dtype as "F32" | "I8", shape: info.shape, data };
    }
    const scale = "distilbert.transformer.layer.0.ffn.lin1.weight_scale";
    const rows = tensors[scale].shape[0];
    writeSafetensors(path, {
      ...tensors,
      [scale]: { dtype: "F32", shape: [rows - 1, 1], data: new Float32Array(rows - 1) },
    });
    assert.throws(() => loadModel(out), /the scales do not match the weights/);
    const { [scale]: _dropped, ...withoutScale } = tensors;
    writeSafetensors(path, withoutScale);
    assert.throws(() => loadModel(out), /is int8 but '.*weight_scale' is missing/);
    writeSafetensors(path, tensors);
    truncateSync(path, statSync(path).size - 100);
    assert.throws(() => loadModel(out), /truncated/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
