// Safetensors files and checkpoints on disk (Node): the classes of safetensors-format.ts, shared
// with the browser bundle, plus opening files and folders and writing files atomically.

import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
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

/**
 * The file read range by range, each read into memory of its own: a tensor read for a model is
 * freed with it (a packed weight's float copy as soon as it is packed), not kept alive by one
 * buffer holding the whole file.
 */
function fileSource(path: string): format.ByteSource {
  let byteLength: number;
  try {
    byteLength = statSync(path).size;
  } catch (error) {
    throw new UserError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return {
    byteLength,
    read(start, end) {
      const bytes = Buffer.allocUnsafeSlow(end - start);
      let fd: number | undefined;
      try {
        fd = openSync(path, "r");
        let done = 0;
        while (done < bytes.length) {
          const got = readSync(fd, bytes, done, bytes.length - done, start + done);
          if (got === 0) break;
          done += got;
        }
        if (done < bytes.length) {
          throw new UserError(`${path} is shorter than when it was opened: was it replaced?`);
        }
      } catch (error) {
        if (error instanceof UserError) throw error;
        throw new UserError(`cannot read ${path}: ${(error as Error).message}`);
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
  };
}

export class SafetensorsFile extends format.SafetensorsFile {
  static open(path: string): SafetensorsFile {
    return SafetensorsFile.fromSource(fileSource(path), path);
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
