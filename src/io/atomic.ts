// Atomic file writes: write a temporary file beside the target, flush it, then rename over the
// target, so a crash or a kill leaves either the old file or the new one, never a torn one.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { UserError } from "../errors.js";

/** Writes `data` (text, bytes, or chunks of bytes written one after another) to `path`. */
export function writeFileAtomic(path: string, data: Uint8Array | string | Uint8Array[]): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(temp, "w");
    try {
      const chunks = Array.isArray(data)
        ? data
        : [typeof data === "string" ? Buffer.from(data, "utf8") : data];
      for (const bytes of chunks) {
        let written = 0;
        while (written < bytes.byteLength) {
          written += writeSync(fd, bytes, written, bytes.byteLength - written);
        }
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new UserError(`cannot write ${path}: ${(error as Error).message}`);
  }
}
