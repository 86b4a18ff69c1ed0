// Where the browser reads a model folder's files (config.json, model.safetensors, tokenizer.json,
// ...): a base URL, fetched file by file, or files already in memory (a drag-and-drop, an
// IndexedDB cache). Node reads folders on disk instead (config.ts, safetensors.ts, files.ts).

import { UserError } from "../errors.js";
import { decodeUtf8 } from "./utf8.js";

export interface ModelFiles {
  /** Names the folder in errors: its URL, or a description of the files. */
  readonly where: string;
  /** The file's bytes; undefined when the folder has no such file. */
  read(name: string): Promise<Uint8Array | undefined>;
}

export type FileContents = Uint8Array | ArrayBuffer | Blob | string;

/** A base URL (relative ones resolve against the page or worker), or files in memory. */
export type ModelSource = string | URL | ModelFiles;

export interface DownloadProgress {
  /** The file's name in the folder. */
  file: string;
  url: string;
  loaded: number;
  /** From Content-Length; null when the server does not say. */
  total: number | null;
  /** True when the bytes came from the cache (then `loaded` is the whole file). */
  cached: boolean;
}

export interface FetchOptions {
  /**
   * Keep the files in this Cache API cache: a reload revalidates them (If-None-Match on the
   * server's ETag) instead of downloading them again, and works offline.
   */
  cache?: string;
  /** Called as a file's bytes arrive. */
  onProgress?: (progress: DownloadProgress) => void;
}

async function openCache(name: string | undefined): Promise<Cache | null> {
  if (name === undefined || globalThis.caches === undefined) return null;
  try {
    return await globalThis.caches.open(name);
  } catch {
    // No Cache API here (an insecure origin, a private window): fetch without one.
    return null;
  }
}

async function bodyWithProgress(
  response: Response,
  report: (loaded: number, total: number | null) => void,
): Promise<Uint8Array<ArrayBuffer>> {
  const length = Number(response.headers.get("Content-Length"));
  const total = Number.isFinite(length) && length > 0 ? length : null;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    report(loaded, total);
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The files under `baseUrl`; a 404 means the folder has no such file. */
export function filesAtUrl(baseUrl: string | URL, options: FetchOptions = {}): ModelFiles {
  const href = String(baseUrl);
  const base = new URL(href.endsWith("/") ? href : `${href}/`, globalThis.location?.href);
  const cacheReady = openCache(options.cache);
  return {
    where: base.href.replace(/\/$/, ""),
    async read(name) {
      const url = new URL(name, base).href;
      const report = (loaded: number, total: number | null, cached: boolean) =>
        options.onProgress?.({ file: name, url, loaded, total, cached });
      const cache = await cacheReady;
      const cached = await cache?.match(url);
      const etag = cached?.headers.get("ETag");
      const fromCache = async (entry: Response) => {
        const bytes = new Uint8Array(await entry.arrayBuffer());
        report(bytes.byteLength, bytes.byteLength, true);
        return bytes;
      };
      let response: Response;
      try {
        response = await fetch(url, etag ? { headers: { "If-None-Match": etag } } : {});
      } catch (error) {
        if (cached) return fromCache(cached);
        throw new UserError(`cannot fetch ${url}: ${(error as Error).message}`);
      }
      if (response.status === 304 && cached) return fromCache(cached);
      if (response.status === 404) {
        await cache?.delete(url);
        return undefined;
      }
      if (!response.ok) {
        throw new UserError(`cannot fetch ${url}: HTTP ${response.status} ${response.statusText}`);
      }
      const bytes = await bodyWithProgress(response, (loaded, total) =>
        report(loaded, total, false),
      );
      if (cache) {
        const headers: Record<string, string> = {};
        const served = response.headers.get("ETag");
        if (served) headers.ETag = served;
        // A full cache (the storage quota) only costs the next reload a download.
        await cache.put(url, new Response(bytes, { headers })).catch(() => {});
      }
      return bytes;
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
  return bytes === undefined ? undefined : decodeUtf8(bytes, name);
}
