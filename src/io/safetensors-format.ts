// The safetensors format: an 8-byte little-endian header length, a JSON header of
// {name: {dtype, shape, data_offsets: [begin, end]}} (plus optional __metadata__), then the data
// section. Parsed from bytes in memory (F32 tensors on an aligned offset are returned as views)
// and encoded to bytes; no file access here (safetensors.ts reads and writes files in Node; the
// browser fetches them), so the browser bundle shares this code.

import { UserError } from "../errors.js";
import { float16ArrayToFloat32, float32ToFloat16 } from "./float16.js";

export type DType = "F32" | "F16" | "BF16" | "I64" | "I32" | "I8" | "U8" | "BOOL";

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
}

interface Entry extends TensorInfo {
  /** Byte offsets inside the data section. */
  begin: number;
  end: number;
}

const DTYPE_SIZE: Record<DType, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function isDType(value: unknown): value is DType {
  return typeof value === "string" && value in DTYPE_SIZE;
}

/** Where a file's bytes come from: memory, or (Node) the file read range by range. */
export interface ByteSource {
  readonly byteLength: number;
  /** Bytes [start, end): a view of memory, or freshly read. */
  read(start: number, end: number): Uint8Array;
}

export class SafetensorsFile {
  readonly path: string;
  readonly metadata: Record<string, string>;
  private readonly source: ByteSource;
  private readonly dataStart: number;
  private readonly entries: Map<string, Entry>;

  protected constructor(
    path: string,
    source: ByteSource,
    dataStart: number,
    entries: Map<string, Entry>,
    metadata: Record<string, string>,
  ) {
    this.path = path;
    this.source = source;
    this.dataStart = dataStart;
    this.entries = entries;
    this.metadata = metadata;
  }

  /** Parses bytes already in memory (a fetched file in the browser); `source` names it in errors. */
  static fromBytes(bytes: Uint8Array, source: string): SafetensorsFile {
    return SafetensorsFile.fromSource(
      { byteLength: bytes.byteLength, read: (start, end) => bytes.subarray(start, end) },
      source,
    );
  }

  /**
   * Parses the header of `bytes` and checks every tensor's range against the file's length;
   * tensors are read from the source when asked for.
   */
  protected static fromSource(bytes: ByteSource, source: string): SafetensorsFile {
    const fail = (what: string): never => {
      throw new UserError(`${source} is not a valid safetensors file: ${what}`);
    };
    if (bytes.byteLength < 8) fail(`it is ${bytes.byteLength} bytes long, shorter than the header`);
    const prefix = bytes.read(0, 8);
    const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
    const headerLength = Number(view.getBigUint64(0, true));
    if (headerLength > bytes.byteLength - 8 || headerLength > MAX_HEADER_BYTES) {
      fail(
        `its header length ${headerLength} runs past the end of the file (${bytes.byteLength} bytes): truncated?`,
      );
    }
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder().decode(bytes.read(8, 8 + headerLength)));
    } catch (error) {
      fail(`its header is not well-formed JSON (${(error as Error).message})`);
    }
    if (typeof header !== "object" || header === null || Array.isArray(header)) {
      fail("its header is not a JSON object");
    }
    const dataStart = 8 + headerLength;
    const dataLength = bytes.byteLength - dataStart;
    const entries = new Map<string, Entry>();
    let metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
      if (name === "__metadata__") {
        metadata = (value ?? {}) as Record<string, string>;
        continue;
      }
      const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (!isDType(entry?.dtype))
        fail(`tensor '${name}' has unknown dtype ${JSON.stringify(entry?.dtype)}`);
      const shape = entry.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        fail(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
      }
      const offsets = entry.data_offsets;
      if (
        !Array.isArray(offsets) ||
        offsets.length !== 2 ||
        !offsets.every((o) => Number.isInteger(o) && o >= 0) ||
        offsets[0] > offsets[1]
      ) {
        fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
      }
      const [begin, end] = offsets as [number, number];
      if (end > dataLength) {
        fail(
          `tensor '${name}' ends at byte ${end}, past the data section's ${dataLength} bytes: truncated?`,
        );
      }
      const dtype = entry.dtype as DType;
      const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_SIZE[dtype];
      if (end - begin !== expected) {
        fail(
          `tensor '${name}' (${dtype} ${JSON.stringify(shape)}) needs ${expected} bytes but its byte range holds ${end - begin}`,
        );
      }
      entries.set(name, { name, dtype, shape: shape as number[], begin, end });
    }
    const ordered = [...entries.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
    for (let i = 1; i < ordered.length; i++) {
      if (ordered[i].begin < ordered[i - 1].end) {
        fail(
          `tensors '${ordered[i - 1].name}' and '${ordered[i].name}' have overlapping byte ranges`,
        );
      }
    }
    return new SafetensorsFile(source, bytes, dataStart, entries, metadata);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  info(name: string): TensorInfo {
    const { dtype, shape } = this.entry(name);
    return { name, dtype, shape: [...shape] };
  }

  /**
   * The tensor as float32, converted from any dtype: for bytes in memory a view without copying
   * when F32 and aligned; for a file on disk, read now into memory of its own.
   */
  float32(name: string): Float32Array {
    const entry = this.entry(name);
    const bytes = this.raw(entry);
    const count = (entry.end - entry.begin) / DTYPE_SIZE[entry.dtype];
    switch (entry.dtype) {
      case "F32":
        if (bytes.byteOffset % 4 === 0)
          return new Float32Array(bytes.buffer, bytes.byteOffset, count);
        return new Float32Array(bytes.slice().buffer);
      case "F16": {
        return float16ArrayToFloat32(new Uint16Array(bytes.slice().buffer));
      }
      case "BF16": {
        const half = new Uint16Array(bytes.slice().buffer);
        const bits = new Uint32Array(count);
        for (let i = 0; i < count; i++) bits[i] = half[i] << 16;
        return new Float32Array(bits.buffer);
      }
      default:
        return Float32Array.from(this.int32(name));
    }
  }

  /** An I8 tensor's values: a view of the bytes in memory, or read from the file now. */
  int8(name: string): Int8Array {
    const entry = this.entry(name);
    if (entry.dtype !== "I8") {
      throw new UserError(
        `${this.path}: tensor '${name}' is ${entry.dtype}, but int8 was expected`,
      );
    }
    const bytes = this.raw(entry);
    return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The tensor as int32, from any integer or bool dtype; I64 values must fit in int32. */
  int32(name: string): Int32Array {
    const entry = this.entry(name);
    const bytes = this.raw(entry).slice();
    switch (entry.dtype) {
      case "I64": {
        const wide = new BigInt64Array(bytes.buffer);
        const out = new Int32Array(wide.length);
        for (let i = 0; i < wide.length; i++) {
          const value = wide[i];
          if (value > 2147483647n || value < -2147483648n) {
            throw new UserError(
              `${this.path}: tensor '${name}' holds ${value}, outside the int32 range`,
            );
          }
          out[i] = Number(value);
        }
        return out;
      }
      case "I32":
        return new Int32Array(bytes.buffer);
      case "I8":
        return Int32Array.from(new Int8Array(bytes.buffer));
      case "U8":
      case "BOOL":
        return Int32Array.from(bytes);
      default:
        throw new UserError(
          `${this.path}: tensor '${name}' is ${entry.dtype}, but an integer tensor was expected`,
        );
    }
  }

  private entry(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new UserError(`${this.path} has no tensor '${name}'`);
    return entry;
  }

  private raw(entry: Entry): Uint8Array {
    return this.source.read(this.dataStart + entry.begin, this.dataStart + entry.end);
  }
}

/** A model's weights: `model.safetensors`, or shards listed in `model.safetensors.index.json`. */
export class Checkpoint {
  private readonly files = new Map<string, SafetensorsFile>();
  private readonly owner = new Map<string, SafetensorsFile>();

  protected constructor(files: SafetensorsFile[]) {
    for (const file of files) {
      this.files.set(file.path, file);
      for (const name of file.names()) this.owner.set(name, file);
    }
  }

  /**
   * A sharded checkpoint: `weightMap` (from parseShardIndex) names the shard holding each tensor,
   * `shards` holds each shard parsed; `source` names the index in errors.
   */
  static fromShards(
    weightMap: Record<string, string>,
    shards: Map<string, SafetensorsFile>,
    source: string,
  ): Checkpoint {
    const checkpoint = new Checkpoint([...shards.values()]);
    for (const [name, shard] of Object.entries(weightMap)) {
      if (checkpoint.owner.get(name) !== shards.get(shard)) {
        throw new UserError(`${source} lists tensor '${name}' in ${shard}, which does not hold it`);
      }
    }
    return checkpoint;
  }

  /** A checkpoint of one file (model.safetensors). */
  static fromFile(file: SafetensorsFile): Checkpoint {
    return new Checkpoint([file]);
  }

  names(): string[] {
    return [...this.owner.keys()];
  }

  has(name: string): boolean {
    return this.owner.has(name);
  }

  info(name: string): TensorInfo {
    return this.file(name).info(name);
  }

  float32(name: string): Float32Array {
    return this.file(name).float32(name);
  }

  int32(name: string): Int32Array {
    return this.file(name).int32(name);
  }

  int8(name: string): Int8Array {
    return this.file(name).int8(name);
  }

  private file(name: string): SafetensorsFile {
    const file = this.owner.get(name);
    if (!file) {
      const where = [...this.files.keys()].join(", ");
      throw new UserError(`the checkpoint (${where}) has no tensor '${name}'`);
    }
    return file;
  }
}

export interface TensorToWrite {
  dtype: "F32" | "F16" | "I64" | "I8";
  shape: number[];
  data: Float32Array | Int32Array | Int8Array | BigInt64Array | number[];
}

function encodeTensor(name: string, tensor: TensorToWrite): Uint8Array {
  const count = tensor.shape.reduce((a, b) => a * b, 1);
  if (tensor.data.length !== count) {
    throw new UserError(
      `tensor '${name}' has ${tensor.data.length} values but shape ${JSON.stringify(tensor.shape)} needs ${count}`,
    );
  }
  switch (tensor.dtype) {
    case "F32": {
      const out = Float32Array.from(tensor.data as ArrayLike<number>);
      return new Uint8Array(out.buffer);
    }
    case "F16": {
      const out = new Uint16Array(count);
      for (let i = 0; i < count; i++) out[i] = float32ToFloat16(Number(tensor.data[i]));
      return new Uint8Array(out.buffer);
    }
    case "I8":
      return new Uint8Array(Int8Array.from(tensor.data as ArrayLike<number>).buffer);
    case "I64": {
      const out = new BigInt64Array(count);
      for (let i = 0; i < count; i++) out[i] = BigInt(tensor.data[i]);
      return new Uint8Array(out.buffer);
    }
  }
}

/** Serialises tensors (in the given order) to the safetensors format. */
export function encodeSafetensors(
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of Object.entries(tensors)) {
    const blob = encodeTensor(name, tensor);
    header[name] = {
      dtype: tensor.dtype,
      shape: tensor.shape,
      data_offsets: [offset, offset + blob.byteLength],
    };
    blobs.push(blob);
    offset += blob.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Pad the header with spaces so the data section starts 8-byte aligned, as Hugging Face does.
  const headerBytes = new Uint8Array(json.byteLength + ((8 - (json.byteLength % 8)) % 8)).fill(
    0x20,
  );
  headerBytes.set(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.byteLength;
  for (const blob of blobs) {
    out.set(blob, position);
    position += blob.byteLength;
  }
  return out;
}

/**
 * The `weight_map` of a sharded checkpoint's model.safetensors.index.json: tensor name to shard
 * file name; `source` names the index in errors.
 */
export function parseShardIndex(text: string, source: string): Record<string, string> {
  let index: { weight_map?: unknown };
  try {
    index = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  const weightMap = index?.weight_map;
  if (
    typeof weightMap !== "object" ||
    weightMap === null ||
    !Object.values(weightMap).every((shard) => typeof shard === "string")
  ) {
    throw new UserError(`${source} has no weight_map of tensor names to shard files`);
  }
  return weightMap as Record<string, string>;
}
