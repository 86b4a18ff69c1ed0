// A fake Hugging Face Hub for tests: serves `/{repo}/resolve/{revision}/{file}` with the headers
// the real Hub sends (X-Repo-Commit, ETag, X-Linked-Etag/X-Linked-Size with a redirect to a CDN
// for LFS files, X-Error-Code on errors) and `/cdn/<sha256>` with Range support. It logs every
// request and can drop the connection in the middle of the next CDN body.

import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeFile {
  content: Buffer;
  /** Stored with Git LFS: the resolve URL redirects to the CDN. */
  lfs: boolean;
}

export interface FakeRepo {
  /** commit hash -> file name -> file */
  commits: Record<string, Record<string, FakeFile>>;
  /** branch or tag -> commit hash */
  refs: Record<string, string>;
  gated?: boolean;
  /** Answer every request with a relative redirect to this repo, as the Hub does for renames. */
  renamedTo?: string;
}

export interface LoggedRequest {
  method: string;
  url: string;
  range: string | undefined;
  authorization: string | undefined;
}

export function commitHash(label: string): string {
  return createHash("sha1").update(label).digest("hex");
}

export function etagOf(file: FakeFile): string {
  if (file.lfs) return createHash("sha256").update(file.content).digest("hex");
  const header = Buffer.from(`blob ${file.content.byteLength}\0`);
  return createHash("sha1")
    .update(Buffer.concat([header, file.content]))
    .digest("hex");
}

export class FakeHub {
  readonly requests: LoggedRequest[] = [];
  /** Close the connection halfway through the next CDN body. */
  dropNextDownload = false;
  private readonly server: Server;
  private readonly blobs = new Map<string, Buffer>();

  constructor(private readonly repos: Record<string, FakeRepo>) {
    for (const repo of Object.values(repos)) {
      for (const files of Object.values(repo.commits)) {
        for (const file of Object.values(files)) {
          if (file.lfs) this.blobs.set(etagOf(file), file.content);
        }
      }
    }
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return this.endpoint;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? "/";
    this.requests.push({
      method: req.method ?? "GET",
      url,
      range: req.headers.range,
      authorization: req.headers.authorization,
    });
    if (url.startsWith("/cdn/")) return void this.serveBlob(req, res, url.slice("/cdn/".length));
    const parts = url.split("/").slice(1);
    const at = parts.indexOf("resolve");
    if (at < 1 || parts.length < at + 3) return void error(res, 404, undefined);
    const repoId = parts.slice(0, at).join("/");
    const revision = decodeURIComponent(parts[at + 1]);
    const fileName = parts
      .slice(at + 2)
      .map(decodeURIComponent)
      .join("/");
    const repo = this.repos[repoId];
    if (repo === undefined) return void error(res, 401, "RepoNotFound");
    if (repo.renamedTo !== undefined) {
      res.writeHead(307, { location: `/${repo.renamedTo}/${parts.slice(at).join("/")}` });
      return void res.end();
    }
    if (repo.gated) return void error(res, 403, "GatedRepo");
    const commit = repo.refs[revision] ?? (repo.commits[revision] ? revision : undefined);
    if (commit === undefined) return void error(res, 404, "RevisionNotFound");
    const file = repo.commits[commit][fileName];
    if (file === undefined) return void error(res, 404, "EntryNotFound", commit);
    const etag = etagOf(file);
    if (file.lfs) {
      res.writeHead(302, {
        location: `${this.endpoint}/cdn/${etag}`,
        "x-repo-commit": commit,
        "x-linked-etag": `"${etag}"`,
        "x-linked-size": String(file.content.byteLength),
        etag: '"not-the-blob-etag"',
      });
      return void res.end();
    }
    res.writeHead(200, {
      "x-repo-commit": commit,
      etag: `"${etag}"`,
      "content-length": String(file.content.byteLength),
    });
    res.end(req.method === "HEAD" ? undefined : file.content);
  }

  private serveBlob(req: IncomingMessage, res: ServerResponse, sha: string): void {
    const content = this.blobs.get(sha);
    if (content === undefined) return void error(res, 404, undefined);
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    const body = content.subarray(start);
    res.writeHead(range ? 206 : 200, {
      "content-length": String(body.byteLength),
      ...(range
        ? { "content-range": `bytes ${start}-${content.byteLength - 1}/${content.byteLength}` }
        : {}),
    });
    if (req.method === "HEAD") return void res.end();
    if (this.dropNextDownload) {
      this.dropNextDownload = false;
      res.write(body.subarray(0, body.byteLength >> 1), () => res.destroy());
      return;
    }
    res.end(body);
  }
}

function error(res: ServerResponse, status: number, code: string | undefined, commit?: string) {
  res.writeHead(status, {
    ...(code ? { "x-error-code": code } : {}),
    ...(commit ? { "x-repo-commit": commit } : {}),
  });
  res.end();
}
