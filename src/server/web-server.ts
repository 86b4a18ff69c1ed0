// The web app's server (`distilbert web`): the built app (dist/web: the page, its bundles, the
// embedded models and models.json) and any further model folders, every answer with the headers
// that cross-origin isolate the page (so WebAssembly threads get shared memory). Files carry an
// ETag, so the page's Cache API revalidates a model (304) instead of downloading it again.

import { createReadStream, existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { extname, join, resolve, sep } from "node:path";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { UserError } from "../errors.js";
import { type ConnectionLimits, limitedServer, listen } from "./listen.js";
import { DEFAULT_LIMITS } from "./server.js";

/** The files of a model folder the page reads. */
export const SERVED_MODEL_FILES = [
  "config.json",
  "model.safetensors",
  "model.safetensors.index.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "vocab.txt",
];

const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
};

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".jsonl": "text/plain; charset=utf-8",
  ".png": "image/png",
};

export interface ServedModel {
  /** Its name in the page (and in its URL, models/NAME/). */
  name: string;
  dir: string;
}

export interface WebLimits extends ConnectionLimits {
  /** On close(): time the downloads in progress get before their connections are cut. */
  shutdownTimeoutMs: number;
}

/** As `distilbert serve`'s (DEFAULT_LIMITS); a stalled download is idle for idleTimeoutMs. */
export const DEFAULT_WEB_LIMITS: WebLimits = {
  headersTimeoutMs: DEFAULT_LIMITS.headersTimeoutMs,
  bodyTimeoutMs: DEFAULT_LIMITS.bodyTimeoutMs,
  idleTimeoutMs: 30_000,
  shutdownTimeoutMs: DEFAULT_LIMITS.shutdownTimeoutMs,
};

/** `path` inside `root`, or null when it would leave it (.., absolute parts). */
function inside(root: string, path: string): string | null {
  const full = resolve(root, `.${sep}${path}`);
  return full.startsWith(resolve(root) + sep) ? full : null;
}

/**
 * The real paths a served folder's files may resolve to: the folder, and for a snapshot in the
 * Hub cache (whose files are links to ../../blobs/HASH) its repository's blobs.
 */
function allowedRoots(dir: string): string[] {
  const roots = [realpathSync(dir)];
  const blobs = resolve(dir, "..", "..", "blobs");
  if (/[\\/]snapshots[\\/][^\\/]+[\\/]?$/.test(resolve(dir)) && existsSync(blobs)) {
    roots.push(realpathSync(blobs));
  }
  return roots;
}

/**
 * `path` with its links resolved when that is a file inside one of `roots` (real paths); null
 * otherwise: a link in a model folder must not serve any file of the machine.
 */
function fileInside(path: string, roots: string[]): string | null {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return null;
  }
  const within = roots.some((root) => real.startsWith(root + sep));
  return within && statSync(real).isFile() ? real : null;
}

export class WebServer {
  private readonly app: FastifyInstance;
  private readonly extra: Map<string, { dir: string; roots: string[] }>;
  private readonly rootReal: string;
  private readonly limits: WebLimits;

  /** `root` is the built app (dist/web); `models` are served before its own, under their names. */
  constructor(
    private readonly root: string,
    models: ServedModel[],
    limits: Partial<WebLimits> = {},
  ) {
    if (!existsSync(join(root, "index.html"))) {
      throw new UserError(`the web app is not built in ${root}: run npm run build`);
    }
    this.rootReal = realpathSync(root);
    this.extra = new Map(
      models.map((model) => [model.name, { dir: model.dir, roots: allowedRoots(model.dir) }]),
    );
    this.limits = { ...DEFAULT_WEB_LIMITS, ...limits };
    this.app = Fastify({ logger: false, serverFactory: limitedServer(this.limits) });
    this.app.addHook("onSend", async (_request, reply) => {
      reply.headers(ISOLATION_HEADERS);
    });
    this.app.get("/models.json", async (_request, reply) => {
      const builtIn = JSON.parse(readFileSync(join(root, "models.json"), "utf8")) as ServedModel[];
      const listed = [
        ...models.map((model) => ({ name: model.name, url: `models/${model.name}/` })),
        ...builtIn.filter((model) => !this.extra.has(model.name)),
      ];
      reply.header("Cache-Control", "no-cache").type(CONTENT_TYPES[".json"]);
      return listed;
    });
    this.app.get("/*", async (request, reply) => {
      let path: string;
      try {
        path = decodeURIComponent(new URL(request.url, "http://host").pathname);
      } catch {
        return reply.code(400).type("text/plain").send("a malformed path");
      }
      return this.sendFile(reply, request.headers["if-none-match"], this.fileFor(path));
    });
  }

  /** The file a URL path names (its real path), or null. */
  private fileFor(path: string): string | null {
    if (path === "/") return fileInside(join(this.root, "index.html"), [this.rootReal]);
    const model = /^\/models\/([^/]+)\/([^/]+)$/.exec(path);
    const served = model && this.extra.get(model[1]);
    if (model && served) {
      if (!SERVED_MODEL_FILES.includes(model[2])) return null;
      return fileInside(join(served.dir, model[2]), served.roots);
    }
    const file = inside(this.root, path.slice(1));
    return file && fileInside(file, [this.rootReal]);
  }

  private sendFile(reply: FastifyReply, ifNoneMatch: string | undefined, path: string | null) {
    if (!path) return reply.code(404).type("text/plain").send("not found");
    const stats = statSync(path);
    const etag = `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
    reply.header("ETag", etag).header("Cache-Control", "no-cache");
    if (ifNoneMatch === etag) return reply.code(304).send();
    reply
      .type(CONTENT_TYPES[extname(path)] ?? "application/octet-stream")
      .header("Content-Length", stats.size);
    return reply.send(createReadStream(path));
  }

  /** Listens; resolves with the page's URL. */
  async listen(port: number, host: string): Promise<string> {
    return `http://${await listen(this.app, port, host)}/`;
  }

  /** Stops accepting; downloads in progress get shutdownTimeoutMs, then their connections are cut. */
  async close(): Promise<void> {
    const cut = setTimeout(
      () => this.app.server.closeAllConnections(),
      this.limits.shutdownTimeoutMs,
    );
    try {
      await this.app.close();
    } finally {
      clearTimeout(cut);
    }
  }
}
