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
 * A connection to Redis as BullMQ needs it (no per-request retry limit), checked at once: a
 * wrong URL or a server that is down is a clear error, not a silent wait.
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
  redis.options.retryStrategy = (times) => Math.min(times * 200, 5000);
  return redis;
}
