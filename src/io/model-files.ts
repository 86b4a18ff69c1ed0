// Where the browser reads a model folder's files (config.json, model.safetensors, tokenizer.json,
// ...): a base URL, fetched file by file, or files already in memory (a drag-and-drop, an
// IndexedDB cache). Node reads folders on disk instead (config.ts, safetensors.ts, files.ts).

import { UserError } from "../errors.js";

export interface ModelFiles {
  /** Names the folder in errors: its URL, or a description of the files. */
  readonly where: string;
  /** The file's bytes; undefined when the folder has no such file. */
  read(name: string): Promise<Uint8Array | undefined>;
}

export type FileContents = Uint8Array | ArrayBuffer | Blob | string;

/** A base URL (relative ones resolve against the page or worker), or files in memory. */
export type ModelSource = string | URL | ModelFiles;

/** The files under `baseUrl`; a 404 means the folder has no such file. */
export function filesAtUrl(baseUrl: string | URL): ModelFiles {
  const href = String(baseUrl);
  const base = new URL(href.endsWith("/") ? href : `${href}/`, globalThis.location?.href);
  return {
    where: base.href.replace(/\/$/, ""),
    async read(name) {
      const url = new URL(name, base).href;
      let response: Response;
      try {
        response = await fetch(url);
      } catch (error) {
        throw new UserError(`cannot fetch ${url}: ${(error as Error).message}`);
      }
      if (response.status === 404) return undefined;
      if (!response.ok) {
        throw new UserError(`cannot fetch ${url}: HTTP ${response.status} ${response.statusText}`);
      }
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}

/** Files already in memory, by name (`config.json`, `model.safetensors`, ...). */
export function filesInMemory(
  files: Record<string, FileContents>,
  where = "the files given",
): ModelFiles {
  return {
    where,
    async read(name) {
      const contents = files[name];
      if (contents === undefined) return undefined;
      if (typeof contents === "string") return new TextEncoder().encode(contents);
      if (contents instanceof Uint8Array) return contents;
      if (contents instanceof ArrayBuffer) return new Uint8Array(contents);
      return new Uint8Array(await contents.arrayBuffer());
    },
  };
}

export function modelFiles(source: ModelSource): ModelFiles {
  return typeof source === "string" || source instanceof URL ? filesAtUrl(source) : source;
}

/** The file's text; undefined when the folder has no such file. */
export async function readText(files: ModelFiles, name: string): Promise<string | undefined> {
  const bytes = await files.read(name);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}
