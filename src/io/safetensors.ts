// Safetensors files and checkpoints on disk (Node): the classes of safetensors-format.ts, shared
// with the browser bundle, plus opening files and folders and writing files atomically.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "./atomic.js";
import * as format from "./safetensors-format.js";

export {
  type DType,
  encodeSafetensors,
  parseShardIndex,
  type TensorInfo,
  type TensorToWrite,
} from "./safetensors-format.js";

function readFile(path: string): Uint8Array {
  try {
    const buffer = readFileSync(path);
    // A plain Uint8Array view: Buffer's slice() does not copy, Uint8Array's does.
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    throw new UserError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

export class SafetensorsFile extends format.SafetensorsFile {
  static open(path: string): SafetensorsFile {
    return SafetensorsFile.fromBytes(readFile(path), path);
  }
}

/** A model's weights: `model.safetensors`, or shards listed in `model.safetensors.index.json`. */
export class Checkpoint extends format.Checkpoint {
  static open(dir: string): Checkpoint {
    const single = join(dir, "model.safetensors");
    if (existsSync(single)) return Checkpoint.fromFile(SafetensorsFile.open(single));
    const indexPath = join(dir, "model.safetensors.index.json");
    if (!existsSync(indexPath)) {
      throw new UserError(
        `${dir} has no model.safetensors or model.safetensors.index.json: is it a Hugging Face model folder?`,
      );
    }
    const weightMap = format.parseShardIndex(
      new TextDecoder().decode(readFile(indexPath)),
      indexPath,
    );
    const shards = new Map<string, format.SafetensorsFile>();
    for (const shard of new Set(Object.values(weightMap))) {
      shards.set(shard, SafetensorsFile.open(join(dir, shard)));
    }
    return Checkpoint.fromShards(weightMap, shards, indexPath);
  }
}

/** Writes a safetensors file atomically: a crash leaves either the old file or the new one. */
export function writeSafetensors(
  path: string,
  tensors: Record<string, format.TensorToWrite>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, format.encodeSafetensors(tensors, metadata));
}
