// The HTTP server (fastify): pipelines behind Hugging Face's Inference API routes and
// text-embeddings-inference's (TEI) routes, including OpenAI's /v1/embeddings (routes.ts).
// Each model runs in its own worker thread (model-worker.ts), so the event loop answers /health,
// parses bodies and refuses excess load at once however long a batch takes; each task has its
// own queue, batched across requests (batcher.ts). Limits answer as TEI does: 413 body too
// large, 422 too many inputs or an input too long, 429 too many concurrent requests (with
// Retry-After), 408 headers or body too slow, 503 past the per-request deadline.

import { createHash, timingSafeEqual } from "node:crypto";
import type { Server } from "node:http";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { UserError } from "../errors.js";
import { loadConfig, type ModelConfig } from "../io/config.js";
import type { Pooling } from "../models/pooling.js";
import { modelPooling } from "../pipelines/load.js";
import { loadTokenizer, type Tokenizer } from "../tokenizer/index.js";
import { Batcher, type BatchInput } from "./batcher.js";
import { limitedServer, listen } from "./listen.js";
import { Metrics } from "./metrics.js";
import { BatchError, type ModelSpec, ModelWorker } from "./model-worker.js";
import { registerRoutes } from "./routes.js";

export interface ServerLimits {
  /** Larger bodies get 413. */
  maxBodyBytes: number;
  /** More inputs in one request get 422. */
  maxClientBatchSize: number;
  /** The token budget of one batch. */
  maxBatchTokens: number;
  /** Requests sharing one batch. */
  maxBatchRequests: number;
  /** Requests in progress beyond this get 429. */
  maxConcurrentRequests: number;
  /** Time to receive a request's headers (408 past it). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included (408 past it). */
  bodyTimeoutMs: number;
  /** Time from arrival to answer (503 past it; the request's queued work is dropped). */
  requestDeadlineMs: number;
  /** On close(): time the requests in progress get before their connections are cut. */
  shutdownTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxBodyBytes: 2 * 1024 * 1024,
  maxClientBatchSize: 32,
  maxBatchTokens: 16384,
  maxBatchRequests: 64,
  maxConcurrentRequests: 512,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  requestDeadlineMs: 60_000,
  shutdownTimeoutMs: 10_000,
};

/** The answer to a request that a shutdown will not serve: the client retries elsewhere. */
function shuttingDown(): HttpError {
  return new HttpError(503, "the server is shutting down: retry the request", "Unhealthy", {
    "Retry-After": "1",
  });
}

/** After the shutdown deadline, the time the 503 answers get to go out before connections are cut. */
const SHUTDOWN_ANSWER_MS = 1000;

export interface ServerOptions {
  /** The models served, each in its own worker thread, with the tasks run on it. */
  models: ModelSpec[];
  limits?: Partial<ServerLimits>;
  /** Requests must carry `Authorization: Bearer KEY` (401 otherwise); /health is open. */
  apiKey?: string;
  /** One line per request, and internal errors; default stderr. */
  log?: (line: string) => void;
}

/** A failure with the HTTP status it answers with; its message is shown to the client. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** TEI's error_type. */
    readonly type: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A task served: its queue, and what the main thread needs to check and count inputs. */
export interface ServedTask {
  task: string;
  modelDir: string;
  dtype: string;
  config: ModelConfig;
  tokenizer: Tokenizer;
  pooling: Pooling;
  batcher: Batcher;
}

export class InferenceServer {
  readonly app: FastifyInstance;
  readonly limits: ServerLimits;
  readonly tasks = new Map<string, ServedTask>();
  readonly metrics = new Metrics();
  private readonly log: (line: string) => void;
  private inFlight = 0;
  /** The requests waiting for or running inference: a shutdown answers them if they outlast it. */
  private readonly running = new Set<AbortController>();
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly workers: ModelWorker[],
    options: ServerOptions,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const limits = this.limits;
    this.app = Fastify({
      bodyLimit: limits.maxBodyBytes,
      // Node's own timeouts answer 408. A request may wait silently for its answer up to the
      // deadline after it arrived; a connection silent longer than that is a stalled client.
      serverFactory: limitedServer({
        ...limits,
        idleTimeoutMs: limits.headersTimeoutMs + limits.bodyTimeoutMs + limits.requestDeadlineMs,
      }),
      forceCloseConnections: "idle",
      // The onRequest hook answers 503 with Retry-After instead.
      return503OnClosing: false,
    });
    this.hooks(options.apiKey);
  }

  /** Starts a worker per model and waits for every model to load. */
  static async start(options: ServerOptions): Promise<InferenceServer> {
    if (options.models.length === 0 || options.models.some((m) => m.tasks.length === 0)) {
      throw new UserError("the server needs at least one model with at least one task");
    }
    const started = await Promise.allSettled(options.models.map((spec) => ModelWorker.start(spec)));
    const workers = started.flatMap((result) =>
      result.status === "fulfilled" ? [result.value] : [],
    );
    const failure = started.find((result) => result.status === "rejected");
    if (failure) {
      await Promise.all(workers.map((worker) => worker.stop()));
      throw failure.reason;
    }
    const server = new InferenceServer(workers, options);
    for (let i = 0; i < workers.length; i++) server.serve(options.models[i], workers[i]);
    registerRoutes(server);
    return server;
  }

  private serve(spec: ModelSpec, worker: ModelWorker): void {
    const config = loadConfig(worker.modelDir);
    const tokenizer = loadTokenizer(worker.modelDir);
    const pooling = modelPooling(worker.modelDir);
    for (const task of spec.tasks) {
      if (this.tasks.has(task)) throw new UserError(`${task} is served twice: give it once`);
      const batcher = new Batcher(
        async (inputs, parameters, single) => {
          const started = performance.now();
          const outputs = await worker.run(task, inputs, parameters, single);
          this.metrics.inferred(task, (performance.now() - started) / 1000);
          return outputs;
        },
        this.limits,
        this.metrics.observer(task),
      );
      this.tasks.set(task, {
        task,
        modelDir: worker.modelDir,
        dtype: worker.dtype,
        config,
        tokenizer,
        pooling,
        batcher,
      });
    }
  }

  /** Listens; resolves with host:port. */
  listen(port: number, host: string): Promise<string> {
    return listen(this.app, port, host);
  }

  get server(): Server {
    return this.app.server;
  }

  /** Requests admitted and not yet answered. */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  /**
   * Stops accepting, gives the requests in progress `shutdownTimeoutMs` to finish, then answers
   * those still waiting or running 503 with Retry-After (their clients retry elsewhere rather
   * than see a reset), cuts the connections still open a moment later (clients stalled
   * mid-request), and stops the workers.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      let cut: NodeJS.Timeout | undefined;
      const deadline = setTimeout(() => {
        for (const controller of this.running) controller.abort(shuttingDown());
        for (const served of this.tasks.values()) served.batcher.close(shuttingDown());
        cut = setTimeout(() => this.app.server.closeAllConnections(), SHUTDOWN_ANSWER_MS);
      }, this.limits.shutdownTimeoutMs);
      try {
        // Accept the connections already waiting in the listen backlog first: closing the
        // listening socket resets them, and accepted they are answered 503 with Retry-After.
        await new Promise((resolve) => setImmediate(resolve));
        await this.app.close();
      } finally {
        clearTimeout(deadline);
        clearTimeout(cut);
        this.app.server.closeAllConnections();
        for (const served of this.tasks.values()) served.batcher.close(shuttingDown());
        await Promise.all(this.workers.map((worker) => worker.stop()));
      }
    })();
    return this.closing;
  }

  /**
   * Runs `inputs` on `task` through its queue: admission has happened; the work is dropped when
   * the client leaves or the deadline passes.
   */
  async infer(
    reply: FastifyReply,
    served: ServedTask,
    inputs: BatchInput[],
    parameters: Record<string, unknown>,
  ): Promise<unknown[]> {
    const controller = new AbortController();
    const deadline = setTimeout(
      () =>
        controller.abort(
          new HttpError(
            503,
            `the request took longer than ${this.limits.requestDeadlineMs} ms, this server's deadline: retry, or send fewer inputs`,
            "Overloaded",
            { "Retry-After": "1" },
          ),
        ),
      this.limits.requestDeadlineMs,
    );
    const left = () => {
      if (!reply.raw.writableFinished)
        controller.abort(new HttpError(499, "client left", "Aborted"));
    };
    reply.raw.once("close", left);
    this.running.add(controller);
    try {
      return await served.batcher.submit(inputs, parameters, controller.signal);
    } catch (error) {
      if (error instanceof BatchError) {
        if (error.user) throw new HttpError(400, error.message, "Validation");
        this.log(`internal error: ${error.detail ?? error.message}`);
        throw new HttpError(500, "internal error (see the server's log)", "Backend");
      }
      throw error;
    } finally {
      this.running.delete(controller);
      clearTimeout(deadline);
      reply.raw.off("close", left);
    }
  }

  private hooks(apiKey: string | undefined): void {
    const app = this.app;
    app.addHook("onRequest", async (request, reply) => {
      (request as { started?: number }).started = performance.now();
      // A request that arrives on a kept-alive connection while closing.
      if (this.closing) throw shuttingDown();
      const path = request.url.split("?")[0];
      if (apiKey !== undefined && path !== "/health") {
        if (!sameSecret(request.headers.authorization ?? "", `Bearer ${apiKey}`)) {
          throw new HttpError(
            401,
            "send the server's API key as Authorization: Bearer KEY",
            "Unauthorized",
            {
              "WWW-Authenticate": "Bearer",
            },
          );
        }
      }
      if (request.method === "POST") {
        if (this.inFlight >= this.limits.maxConcurrentRequests) {
          throw new HttpError(
            429,
            `the server is at its limit of ${this.limits.maxConcurrentRequests} concurrent requests: retry shortly`,
            "Overloaded",
            { "Retry-After": "1" },
          );
        }
        this.inFlight++;
        reply.raw.once("close", () => this.inFlight--);
      }
    });
    app.addHook("onResponse", async (request, reply) => {
      const started = (request as { started?: number }).started ?? performance.now();
      const seconds = (performance.now() - started) / 1000;
      const route = request.routeOptions.url ?? "unknown";
      this.metrics.answered(route, reply.statusCode, seconds);
      this.log(
        `${request.method} ${request.url} ${reply.statusCode} ${(seconds * 1000).toFixed(0)}ms`,
      );
      // While closing, a kept-alive connection whose last answer went out would hold close().
      if (this.closing) setImmediate(() => this.app.server.closeIdleConnections());
    });
    app.addHook("onRequestAbort", async (request) => {
      this.metrics.failed("Aborted");
      this.log(`${request.method} ${request.url} aborted by the client`);
    });
    app.setNotFoundHandler(async (request) => {
      throw new HttpError(
        404,
        `no route ${request.method} ${request.url.split("?")[0]}; ${this.routeList()}`,
        "NotFound",
      );
    });
    app.setErrorHandler(async (error, _request, reply) => {
      const { status, message, type, headers } = this.answerOf(error);
      this.metrics.failed(type);
      reply.code(status).headers(headers).type("application/json; charset=utf-8");
      return { error: message, error_type: type };
    });
  }

  private answerOf(error: unknown): {
    status: number;
    message: string;
    type: string;
    headers: Record<string, string>;
  } {
    if (error instanceof HttpError) {
      return {
        status: error.status,
        message: error.message,
        type: error.type,
        headers: error.headers,
      };
    }
    if (error instanceof UserError)
      return { status: 400, message: error.message, type: "Validation", headers: {} };
    const fastifyError = error as { statusCode?: number; code?: string; message?: string };
    if (fastifyError.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return {
        status: 413,
        message: `the body is larger than ${this.limits.maxBodyBytes} bytes, this server's limit (--payload-limit)`,
        type: "PayloadTooLarge",
        headers: { Connection: "close" },
      };
    }
    const status = fastifyError.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return {
        status,
        message: fastifyError.message ?? "bad request",
        type: "Validation",
        headers: {},
      };
    }
    this.log(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
    return {
      status: 500,
      message: "internal error (see the server's log)",
      type: "Backend",
      headers: {},
    };
  }

  /** The routes, for 404's message. */
  routeList(): string {
    const tasks = [...this.tasks.keys()].map((task) => `POST /${task}`).join(", ");
    return `this server answers ${tasks}, POST /embed, /embed_sparse, /similarity, /predict, /rerank, /tokenize, /decode, /v1/embeddings, GET /health, /info, /metrics`;
  }
}

/**
 * Compares a client's credentials with the expected ones in a time that does not depend on where
 * they differ (nor, the digests being of equal length, on their lengths): `!==` stops at the first
 * different character, which a client can time to guess the key a character at a time.
 */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
