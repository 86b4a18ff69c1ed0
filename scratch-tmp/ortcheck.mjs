import * as ort from "onnxruntime-node";
import { exportOnnx } from "/work/main/dist/src/models/onnx-export.js";
import { SafetensorsFile } from "/work/main/dist/src/io/safetensors.js";
const name = process.argv[2];
const dir = `/work/main/test/fixtures/models/${name}`;
const out = `/tmp/onnx-${name}`;
const e = exportOnnx(dir, out, { quantize: "int8" });
const io = SafetensorsFile.open(`${dir}/io.safetensors`);
for (const file of [e.files.model, e.files.quantized]) {
  const session = await ort.InferenceSession.create(file);
  const feeds = {};
  for (const input of e.inputs) {
    if (!io.has(input)) { console.log("missing input", input); continue; }
    const shape = io.info(input).shape;
    feeds[input] = new ort.Tensor("int64", BigInt64Array.from(io.int32(input), BigInt), shape);
  }
  const result = await session.run(feeds);
  for (const o of e.outputs) {
    if (!io.has(o)) { console.log(o, "not in fixture"); continue; }
    const want = io.float32(o); const got = result[o].data;
    let worst = 0; for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
    console.log(file.split("/").pop(), o, want.length === got.length ? worst : `size ${got.length} vs ${want.length}`);
  }
}
