// The client side of the Hub's file API, as Python's huggingface_hub uses it: a HEAD on
// `{endpoint}/{repo}/resolve/{revision}/{file}` gives the commit (X-Repo-Commit), the blob's ETag
// (X-Linked-Etag for LFS files, else ETag) and size (X-Linked-Size, else Content-Length); LFS
// files answer with a redirect to a CDN, which is then fetched with a GET. Downloads go to
// `blobs/<etag>.incomplete` and are renamed into place only when their size matches, so an
// interrupted download never looks complete; the next attempt resumes it with a Range request.

import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import cliProgress from "cli-progress";
import { UserError } from "../errors.js";

/** The Hub could not be reached at all (as opposed to answering with an error). */
export class HubUnreachableError extends UserError {}

export interface HubClient {
  endpoint: string;
  repoId: string;
  token: string | undefined;
  progress: boolean;
}

export interface FileMetadata {
  commit: string;
  etag: string;
  size: number;
  /** Where to GET the contents: the resolve URL, or the CDN it redirects to. */
  downloadUrl: string;
}

/** What the Hub says about a file: its metadata, or that the file does not exist. */
export type FileLookup =
  | { found: true; metadata: FileMetadata }
  | { found: false; commit: string | undefined };

const HEAD_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 10;
const PROGRESS_MIN_BYTES = 1 << 20;

export function resolveUrl(client: HubClient, revision: string, file: string): string {
  const path = file.split("/").map(encodeURIComponent).join("/");
  return `${client.endpoint}/${client.repoId}/resolve/${encodeURIComponent(revision)}/${path}`;
}

function headers(token: string | undefined, extra: Record<string, string> = {}): Headers {
  // identity: Content-Length must be the size of the file, not of a compressed body.
  const result = new Headers({ "accept-encoding": "identity", ...extra });
  if (token) result.set("authorization", `Bearer ${token}`);
  return result;
}

async function request(client: HubClient, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new HubUnreachableError(`cannot reach ${client.endpoint} (${reason})`);
  }
}

function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, "").replaceAll('"', "");
}

/** HEAD the file's resolve URL, following only same-host redirects (renamed repos), as Python. */
export async function lookupFile(
  client: HubClient,
  revision: string,
  file: string,
): Promise<FileLookup> {
  let url = resolveUrl(client, revision, file);
  for (let redirects = 0; ; redirects++) {
    const response = await request(client, url, {
      method: "HEAD",
      redirect: "manual",
      headers: headers(client.token),
      signal: AbortSignal.timeout(HEAD_TIMEOUT_MS),
    });
    const location = response.headers.get("location");
    const isRedirect = response.status >= 300 && response.status < 400 && location !== null;
    if (isRedirect && location.startsWith("/") && redirects < MAX_REDIRECTS) {
      url = new URL(location, url).href;
      continue;
    }
    if (!isRedirect && !response.ok) return notFoundOrThrow(client, revision, file, response);
    return { found: true, metadata: readMetadata(client, file, response, location ?? url, url) };
  }
}

function readMetadata(
  client: HubClient,
  file: string,
  response: Response,
  downloadUrl: string,
  url: string,
): FileMetadata {
  const commit = response.headers.get("x-repo-commit");
  const etag = response.headers.get("x-linked-etag") ?? response.headers.get("etag");
  const size = Number(
    response.headers.get("x-linked-size") ?? response.headers.get("content-length") ?? Number.NaN,
  );
  if (!commit || !etag || !Number.isSafeInteger(size)) {
    throw new UserError(
      `${client.endpoint} answered ${url} without X-Repo-Commit, ETag or size headers; ` +
        `is HF_ENDPOINT a Hugging Face Hub? (looking for ${file} of ${client.repoId})`,
    );
  }
  return { commit, etag: normalizeEtag(etag), size, downloadUrl };
}

function notFoundOrThrow(
  client: HubClient,
  revision: string,
  file: string,
  response: Response,
): FileLookup {
  const code = response.headers.get("x-error-code");
  const repo = `model repository '${client.repoId}'`;
  const tokenAdvice = client.token
    ? "check that your HF_TOKEN has access to it"
    : "if it is private or gated, set HF_TOKEN to an access token";
  if (code === "RepoNotFound" || response.status === 401) {
    throw new UserError(`${repo} not found on ${client.endpoint}: check the id; ${tokenAdvice}`);
  }
  if (code === "GatedRepo" || response.status === 403) {
    throw new UserError(
      `${repo} is gated or private: request access on its Hub page, then ${tokenAdvice}`,
    );
  }
  if (code === "RevisionNotFound") {
    throw new UserError(`revision '${revision}' not found in ${repo} (a branch, tag or commit)`);
  }
  if (code === "EntryNotFound" || response.status === 404) {
    return { found: false, commit: response.headers.get("x-repo-commit") ?? undefined };
  }
  throw new UserError(
    `${client.endpoint} answered ${response.status} ${response.statusText} for ${file} of ` +
      `${client.repoId}; try again later`,
  );
}

/**
 * Download the blob into `blobPath`, through `blobPath.incomplete`, resuming a previous partial
 * download when there is one. Throws (leaving the partial file for the next attempt) when the
 * connection drops or the size does not match.
 */
export async function downloadBlob(
  client: HubClient,
  file: string,
  metadata: FileMetadata,
  blobPath: string,
): Promise<void> {
  const incomplete = `${blobPath}.incomplete`;
  mkdirSync(dirname(blobPath), { recursive: true });
  let offset = existsSync(incomplete) ? statSync(incomplete).size : 0;
  if (offset > metadata.size) {
    rmSync(incomplete);
    offset = 0;
  }
  if (offset < metadata.size) {
    offset = await fetchInto(client, file, metadata, incomplete, offset);
  }
  if (offset !== metadata.size) {
    if (offset > metadata.size) rmSync(incomplete, { force: true });
    throw new UserError(
      `download of ${file} of ${client.repoId} got ${offset} bytes instead of ${metadata.size}; ` +
        "run again to retry",
    );
  }
  const handle = await open(incomplete, "r+");
  await handle.sync();
  await handle.close();
  renameSync(incomplete, blobPath);
}

/** GET the file from `offset` on, appending to `incomplete`; returns the file's size after. */
async function fetchInto(
  client: HubClient,
  file: string,
  metadata: FileMetadata,
  incomplete: string,
  offset: number,
): Promise<number> {
  // A CDN on another host gets no token: its URL is signed, and the token is the Hub's.
  const sameHost = new URL(metadata.downloadUrl).host === new URL(client.endpoint).host;
  const range: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
  const response = await request(client, metadata.downloadUrl, {
    headers: headers(sameHost ? client.token : undefined, range),
  });
  if (!response.ok || response.body === null) {
    throw new UserError(
      `download of ${file} of ${client.repoId} failed: ${response.status} ${response.statusText}; ` +
        "run again to retry",
    );
  }
  let received = response.status === 206 ? offset : 0;
  const bar = startProgress(client, file, metadata.size, received);
  const sink = createWriteStream(incomplete, { flags: response.status === 206 ? "a" : "w" });
  try {
    await pipeline(
      Readable.fromWeb(response.body as ReadableStream<Uint8Array>),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          received += chunk.byteLength;
          bar?.update(received);
          yield chunk;
        }
      },
      sink,
    );
  } catch (error) {
    // A write still in flight lands after the error: wait for it, so the partial file's size
    // (where the next run resumes) is final.
    if (!sink.closed) await new Promise<void>((resolve) => sink.once("close", () => resolve()));
    throw new UserError(
      `download of ${file} of ${client.repoId} was interrupted after ${received} of ` +
        `${metadata.size} bytes (${(error as Error).message}); run again to resume`,
    );
  } finally {
    bar?.stop();
  }
  return statSync(incomplete).size;
}

function startProgress(
  client: HubClient,
  file: string,
  total: number,
  start: number,
): cliProgress.SingleBar | undefined {
  if (!client.progress || total < PROGRESS_MIN_BYTES) return undefined;
  const bar = new cliProgress.SingleBar({
    format: `${file} [{bar}] {percentage}% | {value}/{total} MB | ETA {eta_formatted}`,
    stream: process.stderr,
    hideCursor: true,
    noTTYOutput: true,
    formatValue: (value, _options, type) =>
      type === "value" || type === "total" ? (value / 1e6).toFixed(1) : String(value),
  });
  bar.start(total, start);
  return bar;
}
