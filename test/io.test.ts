import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UserError } from "../src/errors.js";
import { parseConfig } from "../src/io/config.js";
import { float16ArrayToFloat32, float16ToFloat32, float32ToFloat16 } from "../src/io/float16.js";
import { encodeSafetensors, SafetensorsFile, writeSafetensors } from "../src/io/safetensors.js";

const FIXTURE = "test/fixtures/models/distilbert-seqcls";

function header(json: object, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(json));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => SafetensorsFile.fromBytes(bytes, "bad.safetensors"),
    (error: unknown) =>
      error instanceof UserError &&
      pattern.test(error.message) &&
      /bad\.safetensors/.test(error.message),
  );
}

test("reads a Hugging Face checkpoint", () => {
  const file = SafetensorsFile.open(join(FIXTURE, "model.safetensors"));
  const name = "distilbert.embeddings.word_embeddings.weight";
  assert.deepEqual(file.info(name).shape, [1000, 64]);
  assert.equal(file.float32(name).length, 64000);
  const io = SafetensorsFile.open(join(FIXTURE, "io.safetensors"));
  assert.deepEqual(
    [...io.int32("label.labels")].every((v) => v >= 0 && v < 3),
    true,
  );
});

test("round-trips F32, F16 and I64 through an atomic write", () => {
  const dir = mkdtempSync(join(tmpdir(), "st-"));
  const path = join(dir, "t.safetensors");
  writeSafetensors(path, {
    a: { dtype: "F32", shape: [2, 3], data: Float32Array.of(1, -2, 3.5, 0, 1e-8, 7) },
    h: { dtype: "F16", shape: [3], data: Float32Array.of(1, 0.333, -65504) },
    i: { dtype: "I64", shape: [2], data: Int32Array.of(-100, 30521) },
  });
  const file = SafetensorsFile.open(path);
  assert.deepEqual([...file.float32("a")], [...Float32Array.of(1, -2, 3.5, 0, 1e-8, 7)]);
  assert.deepEqual([...file.float32("h")], [1, float16ToFloat32(float32ToFloat16(0.333)), -65504]);
  assert.deepEqual([...file.int32("i")], [-100, 30521]);
  const headerLength = readFileSync(path).readBigUInt64LE(0);
  assert.equal(headerLength % 8n, 0n, "the data section starts 8-byte aligned");
});

test("float16 conversion rounds to nearest even and handles subnormals", () => {
  assert.equal(float32ToFloat16(1), 0x3c00);
  assert.equal(float32ToFloat16(65520), 0x7c00);
  assert.equal(float32ToFloat16(2 ** -24), 1);
  assert.equal(float16ToFloat32(0x7bff), 65504);
  assert.equal(float16ToFloat32(0x0001), 2 ** -24);
  for (let h = 0; h < 0x7c00; h += 37) assert.equal(float32ToFloat16(float16ToFloat32(h)), h);
});

test("float16 arrays widen through the table exactly as value by value", () => {
  const every = Uint16Array.from({ length: 65536 }, (_, h) => h);
  const widened = float16ArrayToFloat32(every);
  for (let h = 0; h < 65536; h++) {
    assert.ok(Object.is(widened[h], Math.fround(float16ToFloat32(h))), `0x${h.toString(16)}`);
  }
});

test("rejects truncated and inconsistent files with the file and tensor named", () => {
  const good = encodeSafetensors({ w: { dtype: "F32", shape: [4], data: new Float32Array(4) } });
  rejects(good.subarray(0, 5), /shorter than the header/);
  rejects(good.subarray(0, good.length - 4), /'w' ends at byte 16.*truncated/);
  const longHeader = good.slice();
  new DataView(longHeader.buffer).setBigUint64(0, 10_000n, true);
  rejects(longHeader, /header length 10000 runs past the end/);
  rejects(
    header({})
      .slice(0, 8)
      .fill(0)
      .map((_, i) => (i === 0 ? 2 : 0)),
    /runs past the end/,
  );
  const data = new Uint8Array(16);
  rejects(
    header({ w: { dtype: "F32", shape: [3], data_offsets: [0, 16] } }, data),
    /'w' \(F32 \[3\]\) needs 12 bytes/,
  );
  rejects(
    header({ w: { dtype: "F99", shape: [3], data_offsets: [0, 12] } }, data),
    /'w' has unknown dtype/,
  );
  rejects(
    header(
      {
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
      },
      data,
    ),
    /'a' and 'b' have overlapping/,
  );
  const notJson = header({ w: 1 });
  notJson[8] = 0x7b + 1;
  rejects(notJson, /not well-formed JSON/);
  const file = SafetensorsFile.fromBytes(good, "good.safetensors");
  assert.throws(() => file.float32("missing"), /good\.safetensors has no tensor 'missing'/);
});

test("config: Hugging Face defaults, names and validation", () => {
  const raw = JSON.parse(readFileSync(join(FIXTURE, "config.json"), "utf8"));
  const config = parseConfig(raw, "config.json");
  assert.equal(config.modelType, "distilbert");
  assert.equal(config.hiddenSize, 64);
  assert.equal(config.numLabels, 3);
  assert.equal(config.layerNormEps, 1e-12);
  const bare = parseConfig({ model_type: "bert" }, "c.json");
  assert.equal(bare.hiddenSize, 768);
  assert.equal(bare.numLabels, 2);
  assert.equal(bare.id2label[1], "LABEL_1");
  assert.throws(
    () => parseConfig({ model_type: "gpt2" }, "c.json"),
    /c\.json: unknown model_type "gpt2"/,
  );
  assert.throws(
    () => parseConfig({ model_type: "distilbert", dim: 100, n_heads: 12 }, "c.json"),
    /dim \(100\) must be a multiple of n_heads \(12\)/,
  );
  assert.throws(
    () => parseConfig({ model_type: "bert", hidden_act: "tanh" }, "c.json"),
    /'hidden_act'/,
  );
});
