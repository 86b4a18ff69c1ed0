// What travels through the queue: a chunk of input lines for one task and model, and its answer,
// one output line per input line (predict's lines: the JSON output, or {"error", "line"}).

import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import type { StdinLine } from "../cli/stdin-lines.js";
import { UserError } from "../errors.js";

export const DEFAULT_QUEUE = "distilbert";

/** BullMQ's name for every job of ours. */
export const JOB_NAME = "predict";

export interface ChunkJob {
  task: string;
  /** A model folder or Hub id, resolved on the worker; null: the task's shipped model. */
  model: string | null;
  options: Record<string, unknown>;
  lines: StdinLine[];
}

export interface ChunkResult {
  /** One output line per input line, in order. */
  lines: string[];
  /** How many of them are errors. */
  failed: number;
}

/**
 * The run's key: the same task, model, options, chunk size and input always give the same job
 * ids, so a run started again finds the jobs it already made (and their results) in Redis.
 */
export function runKey(job: Omit<ChunkJob, "lines">, chunk: number, input: Uint8Array): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify([job.task, job.model, job.options, chunk]));
  hash.update(input);
  return hash.digest("hex").slice(0, 20);
}

/** Consecutive chunks of at most `size` lines. */
export function chunksOf<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) {
    chunks.push(items.slice(start, start + size));
  }
  return chunks;
}

/**
 * How long Redis may stay unreachable, once connected, before a worker or run gives up (exit 1)
 * rather than wait for it for good: long enough to outlive a Redis restart.
 */
export const REDIS_LOST_MS = 20_000;

/** The wait between reconnection attempts. */
const RECONNECT_MS = 1000;

/**
 * The most bytes one input line may have in the queue: a model reads at most a few thousand
 * characters of it, and every chunk goes through Redis (held in memory) and back.
 */
export const MAX_QUEUED_LINE_BYTES = 1 << 20;

/**
 * A connection to Redis as BullMQ needs it (no per-request retry limit), checked at once: a
 * wrong URL or a server that is down is a clear error, not a silent wait. Once connected it
 * reconnects for REDIS_LOST_MS, then ends: the commands waiting fail (see redisLost).
 */
export async function connectRedis(url: string): Promise<Redis> {
  // No retries while connecting (a wrong URL fails at once); after that, ioredis's own
  // reconnection, so a worker outlives a Redis restart.
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    retryStrategy: () => null,
  });
  let lastError: Error | null = null;
  redis.on("error", (error: Error) => {
    lastError = error;
  });
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("no answer in 5 s")), 5000)),
    ]);
  } catch (error) {
    redis.disconnect();
    const reason = (lastError ?? (error as Error)).message;
    throw new UserError(
      `cannot reach Redis at ${url}: ${reason}; start redis-server there, or give --redis redis://HOST:PORT`,
    );
  }
  // By attempt count, not a clock of its own: BullMQ's duplicates of this connection copy the
  // function, and ioredis counts each connection's attempts from 0 again once it is back.
  redis.options.retryStrategy = (times) =>
    times * RECONNECT_MS > REDIS_LOST_MS ? null : RECONNECT_MS;
  return redis;
}

/** The error of a worker or run whose Redis stayed unreachable for REDIS_LOST_MS. */
export function redisLost(url: string): UserError {
  return new UserError(
    `lost Redis at ${url}: no answer for ${REDIS_LOST_MS / 1000} s; start redis-server again, then this command again (chunks already answered are kept in Redis)`,
  );
}

/**
 * Watches a connection's errors: reports the first of an outage with `log` (ioredis emits one per
 * attempt, every second), and that Redis is back; `lost` resolves when the connection gave up.
 */
export function watchRedis(redis: Redis, url: string, log: (line: string) => void) {
  let down = false;
  redis.on("error", (error: Error) => {
    if (down) return;
    down = true;
    log(`Redis at ${url}: ${error.message}; retrying for ${REDIS_LOST_MS / 1000} s`);
  });
  redis.on("ready", () => {
    if (down) log(`Redis at ${url} is back`);
    down = false;
  });
  const lost = new Promise<void>((resolve) => redis.on("end", () => resolve()));
  return { lost };
}
