// `distilbert queue run`: splits an input file (one input a line, as predict's stdin) into chunk
// jobs, waits for the workers to answer them, and writes one output line per input line, in
// order, atomically. Job ids come from the run's key (jobs.ts), so a run started again after a
// crash finds the chunks already answered and waits only for the rest.

import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type Job, Queue, QueueEvents } from "bullmq";
import { readLines, type StdinLine } from "../cli/stdin-lines.js";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import {
  type ChunkJob,
  type ChunkResult,
  chunksOf,
  connectRedis,
  JOB_NAME,
  MAX_QUEUED_LINE_BYTES,
  redisLost,
  runKey,
  watchRedis,
} from "./jobs.js";

export interface RunOptions {
  redis: string;
  queue: string;
  task: string;
  model: string | null;
  options: Record<string, unknown>;
  input: string;
  output: string;
  chunk: number;
  /** Called as lines are answered. */
  progress: (done: number, total: number) => void;
  log: (line: string) => void;
}

export interface RunSummary {
  lines: number;
  failedLines: number;
  /** Chunks answered before this run started (a resumed run). */
  alreadyDone: number;
  chunks: number;
}

/** Tries of a chunk whose worker failed for a reason that may pass (not a missing model). */
const ATTEMPTS = 3;
/** How often the run also asks for its jobs' states, beside the queue's events. */
const POLL_MS = 2000;

/**
 * A line too long to queue becomes its error line (as a blank one does) instead of going into
 * Redis: the run answers every other line, and that one's output says why.
 */
function boundedLine(line: StdinLine): StdinLine {
  if ("error" in line) return line;
  const bytes = Buffer.byteLength(line.text);
  if (bytes <= MAX_QUEUED_LINE_BYTES) return line;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  return {
    number: line.number,
    error: `line ${line.number} is ${mib(bytes)}, more than the ${mib(MAX_QUEUED_LINE_BYTES)} a queued input may be: shorten it (a model reads its first few thousand characters)`,
  };
}

async function inputLines(path: string): Promise<{ bytes: Buffer; lines: StdinLine[] }> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UserError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const lines: StdinLine[] = [];
  for await (const line of readLines([bytes])) lines.push(boundedLine(line));
  if (lines.length === 0) throw new UserError(`${path} has no lines: give one input a line`);
  return { bytes, lines };
}

export async function runQueued(options: RunOptions): Promise<RunSummary> {
  // Found out now, not after the workers have answered everything.
  const outDir = dirname(resolve(options.output));
  if (!existsSync(outDir) || !statSync(outDir).isDirectory()) {
    throw new UserError(`--output ${options.output}: the folder ${outDir} does not exist`);
  }
  const { bytes, lines } = await inputLines(options.input);
  const spec = { task: options.task, model: options.model, options: options.options };
  const key = runKey(spec, options.chunk, bytes);
  const chunks = chunksOf(lines, options.chunk);
  const ids = chunks.map((_, index) => `${key}-${index}`);
  const indexOf = new Map(ids.map((id, index) => [id, index]));
  const connection = await connectRedis(options.redis);
  const redis = watchRedis(connection, options.redis, options.log);
  const queue = new Queue<ChunkJob, ChunkResult>(options.queue, { connection });
  const events = new QueueEvents(options.queue, { connection: connection.duplicate() });
  // Their connection errors are the outage watchRedis reports once.
  queue.on("error", () => {});
  events.on("error", () => {});
  const results: (ChunkResult | undefined)[] = chunks.map(() => undefined);
  let answered = 0;
  let failure: string | null = null;
  // Wakes the wait below when an event answers or fails a chunk.
  let wake = () => {};
  redis.lost.then(() => wake());
  const record = (id: string, result: ChunkResult | string | undefined) => {
    const index = indexOf.get(id);
    if (index === undefined || results[index] || result === undefined) return;
    const value = typeof result === "string" ? (JSON.parse(result) as ChunkResult) : result;
    results[index] = value;
    answered += value.lines.length;
    options.progress(answered, lines.length);
    wake();
  };
  const fail = (id: string, reason: string) => {
    const index = indexOf.get(id);
    if (index === undefined || failure) return;
    const chunk = chunks[index];
    failure = `the job for lines ${chunk[0].number}-${chunk[chunk.length - 1].number} failed: ${reason}`;
    wake();
  };
  try {
    // Listening first, then looking: a job that finishes in between is seen by one or the other.
    events.on("completed", ({ jobId, returnvalue }) =>
      record(jobId, returnvalue as unknown as string),
    );
    events.on("failed", ({ jobId, failedReason }) => {
      // A failure the queue will retry (the job waits again) is not the end of the chunk.
      queue
        .getJobState(jobId)
        .then((state) => state === "failed" && fail(jobId, failedReason))
        // The run is closing; its own poll sees the state.
        .catch(() => {});
    });
    await events.waitUntilReady();
    let alreadyDone = 0;
    for (const [index, chunk] of chunks.entries()) {
      const id = ids[index];
      const existing = await queue.getJob(id);
      if (!existing) {
        const data: ChunkJob = { ...spec, lines: chunk };
        await queue.add(JOB_NAME, data, {
          jobId: id,
          attempts: ATTEMPTS,
          backoff: { type: "exponential", delay: 1000 },
          removeOnComplete: false,
          removeOnFail: false,
        });
        continue;
      }
      const state = await existing.getState();
      if (state === "completed") {
        alreadyDone += 1;
        record(id, existing.returnvalue);
      } else if (state === "failed") {
        // A chunk that failed in an earlier run is tried again.
        await existing.retry();
      }
    }
    if (alreadyDone > 0) {
      options.log(`${alreadyDone} of ${chunks.length} chunks were already answered`);
    }
    options.progress(answered, lines.length);
    while (results.some((result) => result === undefined) && failure === null) {
      if (connection.status === "end") throw redisLost(options.redis);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (!results.some((result) => result === undefined) || failure !== null) break;
      for (const [index, id] of ids.entries()) {
        if (results[index]) continue;
        const job: Job<ChunkJob, ChunkResult> | undefined = await queue.getJob(id);
        if (!job) {
          throw new UserError(`the job ${id} was removed from the queue while the run waited`);
        }
        const state = await job.getState();
        if (state === "completed") record(id, job.returnvalue);
        else if (state === "failed") fail(id, job.failedReason);
      }
    }
    if (failure !== null) {
      // The chunks answered stay for a rerun to resume from; the rest go, not to linger in Redis
      // (a rerun makes them again). A job a worker holds now cannot be removed; it fails alone.
      for (const id of ids) {
        const job = await queue.getJob(id);
        if (job && (await job.getState()) !== "completed") await job.remove().catch(() => {});
      }
      throw new UserError(failure);
    }
    const answers = results as ChunkResult[];
    const text = answers.map((result) => result.lines.join("\n")).join("\n");
    writeFileAtomic(options.output, `${text}\n`);
    // Answered and written: the run's jobs are no longer needed.
    for (const id of ids) await (await queue.getJob(id))?.remove();
    const failedLines = answers.reduce((sum, result) => sum + result.failed, 0);
    return { lines: lines.length, failedLines, alreadyDone, chunks: chunks.length };
  } catch (error) {
    // A command that failed because the connection gave up says so, not "Connection is closed".
    throw connection.status === "end" ? redisLost(options.redis) : error;
  } finally {
    if (connection.status === "end") {
      // Nothing to wait for on a server that is gone: closing stops their reconnection loops.
      events.close().catch(() => {});
      queue.close().catch(() => {});
    } else {
      await events.close();
      await queue.close();
      await connection.quit();
    }
  }
}
