// `distilbert queue worker`: pulls chunks from the queue and answers them (processor.ts, in
// worker threads). On SIGTERM it finishes the jobs it holds, then exits; a worker killed outright
// loses nothing: its jobs' locks expire and another worker takes them.

import { fileURLToPath } from "node:url";
import { type Job, Worker } from "bullmq";
import type { ModelDtype } from "../models/types.js";
import type { BackendChoice } from "../tensor/index.js";
import { type ChunkJob, type ChunkResult, connectRedis, redisLost, watchRedis } from "./jobs.js";
import { BACKEND_VARIABLE, DTYPE_VARIABLE } from "./processor.js";

const PROCESSOR = fileURLToPath(new URL("./processor.js", import.meta.url));

export interface WorkerOptions {
  redis: string;
  queue: string;
  /** Jobs at once, each in its own thread. */
  concurrency: number;
  backend: BackendChoice;
  /** "int8": float models are quantized as they load. */
  dtype: ModelDtype | undefined;
  /**
   * How long a job's lock lasts without renewal: a worker that died is noticed (and its job given
   * to another) after about this long, and at most twice this.
   */
  lockMs: number;
  log: (line: string) => void;
}

/**
 * Runs until `stop` resolves (a signal), then lets the jobs in hand finish and returns; throws
 * redisLost when Redis stays unreachable for REDIS_LOST_MS.
 */
export async function runWorker(options: WorkerOptions, stop: Promise<unknown>): Promise<void> {
  const connection = await connectRedis(options.redis);
  const redis = watchRedis(connection, options.redis, options.log);
  process.env[BACKEND_VARIABLE] = options.backend;
  if (options.dtype) process.env[DTYPE_VARIABLE] = options.dtype;
  const worker = new Worker<ChunkJob, ChunkResult>(options.queue, PROCESSOR, {
    connection,
    concurrency: options.concurrency,
    useWorkerThreads: true,
    lockDuration: options.lockMs,
    stalledInterval: options.lockMs,
  });
  const describe = (job: Job<ChunkJob>) => {
    const { lines } = job.data;
    return `job ${job.id} (lines ${lines[0]?.number}-${lines.at(-1)?.number})`;
  };
  worker.on("active", (job) => options.log(`started ${describe(job)}`));
  worker.on("completed", (job) => options.log(`completed ${describe(job)}`));
  worker.on("failed", (job, error) => {
    if (job) options.log(`failed ${describe(job)}: ${error.message}`);
  });
  worker.on("error", (error) => {
    // While Redis is away, every attempt fails: watchRedis reports the outage once.
    if (connection.status === "ready") options.log(`error: ${error.message}`);
  });
  await worker.waitUntilReady();
  options.log(
    `waiting for jobs on queue '${options.queue}' at ${options.redis} (concurrency ${options.concurrency})`,
  );
  const lost = await Promise.race([stop.then(() => false), redis.lost.then(() => true)]);
  if (lost || connection.status !== "ready") {
    // Nothing can be finished or reported without Redis: the jobs in hand go back to the queue
    // when their locks expire, and another worker takes them.
    options.log("stopping at once: Redis is unreachable");
    worker.close(true).catch(() => {});
    connection.disconnect();
    if (lost) throw redisLost(options.redis);
    return;
  }
  options.log("stopping: finishing the jobs in hand");
  await worker.close();
  await connection.quit();
}
