// ONNX's protobuf messages, encoded with protobufjs from ONNX's own schema (onnx.proto, copied
// from the onnx package, IR version 8). The graph itself is built by models/onnx-graph.ts.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

/** TensorProto.DataType values used here. */
export const ONNX_TYPES = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
export type OnnxType = (typeof ONNX_TYPES)[keyof typeof ONNX_TYPES];

/** The IR version of the schema (onnx.proto's IR_VERSION). */
export const IR_VERSION = 8;

const SCHEMA = fileURLToPath(new URL("../../../src/io/onnx.proto", import.meta.url));

let modelType: protobuf.Type | null = null;

function modelProto(): protobuf.Type {
  modelType ??= protobuf
    .parse(readFileSync(SCHEMA, "utf8"), { keepCase: true })
    .root.lookupType("onnx.ModelProto");
  return modelType;
}

/** A plain object in ModelProto's shape (field names as in onnx.proto) as protobuf bytes. */
export function encodeModelProto(model: Record<string, unknown>): Uint8Array {
  const type = modelProto();
  const problem = type.verify(model);
  if (problem) throw new Error(`internal error: not a valid ONNX ModelProto: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** Protobuf bytes of a ModelProto back as a plain object (to inspect a graph). */
export function decodeModelProto(bytes: Uint8Array): Record<string, unknown> {
  const type = modelProto();
  return type.toObject(type.decode(bytes), { longs: Number, bytes: Uint8Array }) as Record<
    string,
    unknown
  >;
}
