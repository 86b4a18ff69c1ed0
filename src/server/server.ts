// An HTTP server for pipelines, shaped like Hugging Face's Inference API: POST a JSON body
// {"inputs": ..., "parameters": {...}} to /TASK (or to / when one task is served) and get the
// pipeline's output as JSON; GET /health says what is served. Errors are {"error": "..."}.

import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { UserError } from "../errors.js";
import type { Pipeline } from "../pipelines/index.js";

export interface ServerOptions {
  /** The pipelines served, by route name (usually the task): POST /NAME runs one. */
  pipelines: Record<string, Pipeline>;
  /** Larger request bodies are refused with 413; default 1 MiB. */
  maxBodyBytes?: number;
  /** Where the request lines and internal errors go; default stderr. */
  log?: (line: string) => void;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** A failure with the HTTP status it answers with; its message is shown to the client. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const BODY_EXAMPLE = `{"inputs": "...", "parameters": {...}}`;

/**
 * A node:http server (not yet listening) answering for `options.pipelines`. Inference runs one
 * request at a time, in arrival order: the kernels already use every thread. GET /health answers
 * {"status": "ok", "tasks": [names], "model": folder}, or "model": {name: folder} when the
 * pipelines were loaded from different folders.
 */
export function createServer(options: ServerOptions): Server {
  const names = Object.keys(options.pipelines);
  if (names.length === 0) throw new UserError("the server needs at least one pipeline");
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const health = JSON.stringify({ status: "ok", tasks: names, model: modelsOf(options.pipelines) });
  let queue: Promise<unknown> = Promise.resolve();
  const serialised = <T>(job: () => Promise<T>): Promise<T> => {
    const result = queue.then(job);
    queue = result.catch(() => undefined);
    return result;
  };

  const routeOf = (path: string): Pipeline => {
    if (path === "/" && names.length === 1) return options.pipelines[names[0]];
    const name = path.slice(1);
    if (path.startsWith("/") && Object.hasOwn(options.pipelines, name)) {
      return options.pipelines[name];
    }
    const routes = names.map((n) => `POST /${n}`).join(", ");
    throw new HttpError(404, `no route ${path}; this server answers GET /health, ${routes}`);
  };

  const answer = async (request: IncomingMessage, response: ServerResponse): Promise<string> => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (path === "/health") {
      if (request.method !== "GET" && request.method !== "HEAD") {
        throw new HttpError(405, "use GET /health", { Allow: "GET, HEAD" });
      }
      return health;
    }
    const pipe = routeOf(path);
    if (request.method !== "POST") {
      throw new HttpError(405, `use POST ${path} with a JSON body ${BODY_EXAMPLE}`, {
        Allow: "POST",
      });
    }
    const { inputs, parameters } = parseBody(await readBody(request, maxBodyBytes));
    // A client that left while queued is not worth a forward pass.
    const run = async () => (response.destroyed ? null : pipe.run(inputs, parameters));
    return JSON.stringify(await serialised(run));
  };

  const server = createHttpServer((request, response) => {
    const started = performance.now();
    response.on("close", () => {
      const status = response.writableFinished ? String(response.statusCode) : "aborted";
      const ms = (performance.now() - started).toFixed(0);
      log(`${request.method} ${request.url} ${status} ${ms}ms`);
    });
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      if (response.destroyed) return;
      response.writeHead(status, {
        "Content-Type": "application/json; charset=utf-8",
        "Content-Length": Buffer.byteLength(body),
        // After close(), a kept-alive connection would hold the server open until it times out.
        ...(server.listening ? {} : { Connection: "close" }),
        ...headers,
      });
      response.end(request.method === "HEAD" ? undefined : body);
    };
    answer(request, response).then(
      (body) => send(200, body),
      (error: unknown) => {
        if (error instanceof HttpError || error instanceof UserError) {
          const status = error instanceof HttpError ? error.status : 400;
          const headers = error instanceof HttpError ? error.headers : {};
          send(status, JSON.stringify({ error: error.message }), headers);
        } else {
          log(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
          send(500, JSON.stringify({ error: "internal error (see the server's log)" }));
        }
      },
    );
  });
  return server;
}

/** The model folder served, or one per route when they differ. */
function modelsOf(pipelines: Record<string, Pipeline>): string | Record<string, string> {
  const dirs = Object.fromEntries(Object.entries(pipelines).map(([n, p]) => [n, p.modelDir]));
  const distinct = new Set(Object.values(dirs));
  return distinct.size === 1 ? [...distinct][0] : dirs;
}

/** The request body as text; more than `maxBytes` is refused (413) without reading it all. */
function readBody(request: IncomingMessage, maxBytes: number): Promise<string> {
  const tooLarge = () =>
    new HttpError(413, `the body is larger than ${maxBytes} bytes, this server's limit`, {
      Connection: "close",
    });
  if (Number(request.headers["content-length"] ?? 0) > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        request.removeAllListeners("data");
        request.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

const BODY_KEYS = ["inputs", "parameters", "options"];

/**
 * `inputs` and `parameters` from a request body. `options` (the Inference API's wait_for_model,
 * use_cache) is accepted and has nothing to do here: the model is loaded and nothing is cached.
 */
function parseBody(text: string): { inputs: unknown; parameters: Record<string, unknown> } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `the body must be JSON, ${BODY_EXAMPLE}: ${(error as Error).message}`);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(400, `the body must be a JSON object, ${BODY_EXAMPLE}`);
  }
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !BODY_KEYS.includes(key));
  if (unknown.length > 0) {
    throw new HttpError(
      400,
      `unknown field ${unknown.join(", ")} in the body; it takes ${BODY_EXAMPLE}`,
    );
  }
  if (fields.inputs === undefined) {
    throw new HttpError(400, `the body has no "inputs": send ${BODY_EXAMPLE}`);
  }
  const parameters = fields.parameters ?? {};
  if (parameters === null || typeof parameters !== "object" || Array.isArray(parameters)) {
    throw new HttpError(
      400,
      `"parameters" must be an object such as {"top_k": 3}, got ${JSON.stringify(parameters)}`,
    );
  }
  return { inputs: fields.inputs, parameters: parameters as Record<string, unknown> };
}
