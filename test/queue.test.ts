// Batch inference on BullMQ with a real Redis: Debian's redis-server, started here on a free
// loopback port with persistence off and stopped at the end (only the process started here).
// Worker processes are the real `distilbert queue worker`; one is killed with SIGKILL in the
// middle of a job and its job is finished by another; a `queue run` killed part way is resumed
// without computing again what was answered; every result equals single-process `distilbert
// predict`; a model that does not exist fails the run with a clear error. The tests that need no
// Redis run without it.

import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { chunksOf, runKey } from "../src/queue/jobs.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const REDIS = "/usr/bin/redis-server";
const SKIP = existsSync(REDIS) ? false : `${REDIS} is missing: apt-get install redis-server`;
// The embedded teacher: slow enough (a first job loads it) that a kill lands inside a job.
const MODEL = join(ROOT, "models", "bert-mini-sotu");
const LOCK_MS = "1500";

test("chunks and run keys: the same run always makes the same jobs", () => {
  assert.deepEqual(chunksOf([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  const spec = { task: "fill-mask", model: null, options: {} };
  const input = new TextEncoder().encode("a [MASK]\n");
  assert.equal(runKey(spec, 10, input), runKey({ ...spec }, 10, input));
  assert.notEqual(runKey(spec, 10, input), runKey(spec, 11, input));
  assert.notEqual(runKey(spec, 10, input), runKey({ ...spec, options: { top_k: 2 } }, 10, input));
  assert.notEqual(runKey(spec, 10, input), runKey(spec, 10, new TextEncoder().encode("b\n")));
});

test("queue run refuses an output folder that does not exist before any work", () => {
  const result = spawnSync(
    process.execPath,
    [CLI, "queue", "run", "--redis", "redis://127.0.0.1:1", "--task", "fill-mask"].concat([
      "--input",
      join(ROOT, "data", "corpus.eval.txt"),
      "--output",
      join(tmpdir(), "no-such-folder-for-distilbert", "out.jsonl"),
    ]),
    { encoding: "utf8" },
  );
  assert.equal(result.status, 1);
  assert.match(result.stderr, /the folder .*no-such-folder-for-distilbert does not exist/);
});

let redis: ChildProcess;
let url: string;
let work: string;
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

before(async () => {
  if (SKIP) return;
  const port = await freePort();
  redis = spawn(
    REDIS,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = "";
    redis.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("Ready to accept connections")) resolve();
    });
    redis.on("exit", () => reject(new Error(`redis-server exited:\n${out}`)));
  });
  url = `redis://127.0.0.1:${port}`;
  work = mkdtempSync(join(tmpdir(), "distilbert-queue-"));
});

after(() => {
  if (SKIP) return;
  for (const child of children) child.kill("SIGKILL");
  redis.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
});

/** A worker process; `log` collects its stderr lines. */
function startWorker(queue: string): { child: ChildProcess; log: string[]; ready: Promise<void> } {
  const child = spawn(
    process.execPath,
    [CLI, "queue", "worker", "--redis", url, "--queue", queue, "--lock-ms", LOCK_MS],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  children.push(child);
  const log: string[] = [];
  const ready = new Promise<void>((resolve) => {
    let pending = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      log.push(...lines);
      if (lines.some((line) => line.includes("waiting for jobs"))) resolve();
    });
  });
  return { child, log, ready };
}

function runArgs(queue: string, input: string, output: string, model = MODEL): string[] {
  return [CLI, "queue", "run", "--redis", url, "--queue", queue, "--task", "fill-mask"]
    .concat(["--model", model, "--options", '{"top_k": 3}', "--chunk", "4"])
    .concat(["--input", input, "--output", output]);
}

/** The inputs, with a blank line (an error line in the output) among them. */
function writeInput(name: string, count: number): string {
  const lines = Array.from({ length: count }, (_, i) => `The [MASK] of the union ${i} is strong.`);
  lines.splice(5, 0, "");
  const path = join(work, name);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

function predicted(input: string): string {
  const result = spawnSync(
    process.execPath,
    [CLI, "predict", "fill-mask", "--model", MODEL, "--options", '{"top_k": 3}'],
    { input: readFileSync(input), encoding: "utf8" },
  );
  assert.equal(result.status, 1, "the blank line fails");
  return result.stdout;
}

/** Runs the CLI to its end without blocking this process (the workers' logs keep flowing). */
function runToEnd(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.on("exit", (status) => resolve({ status, stderr })));
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
}

const jobsIn = (log: string[], verb: string) =>
  log.filter((line) => line.includes(`${verb} job`)).map((line) => line.split(" ")[4]);

test("three workers, one killed in the middle of a job: every result equals predict's", {
  skip: SKIP,
}, async () => {
  const input = writeInput("killed-worker.txt", 23);
  const output = join(work, "killed-worker.jsonl");
  const first = startWorker("killed");
  const second = startWorker("killed");
  await Promise.all([first.ready, second.ready]);
  const run = spawn(process.execPath, runArgs("killed", input, output), {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let runLog = "";
  run.stderr?.on("data", (chunk: Buffer) => {
    runLog += chunk.toString();
  });
  const ran = exitOf(run);
  // The first job the first worker starts: it is loading the model when it dies.
  while (jobsIn(first.log, "started").length === 0) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  first.child.kill("SIGKILL");
  const lost = jobsIn(first.log, "started").filter(
    (id) => !jobsIn(first.log, "completed").includes(id),
  );
  const third = startWorker("killed");
  assert.equal(await ran, 1, `the run exits 1 for the blank line:\n${runLog}`);
  assert.equal(readFileSync(output, "utf8"), predicted(input));
  const finishedElsewhere = [...jobsIn(second.log, "completed"), ...jobsIn(third.log, "completed")];
  assert.ok(lost.length > 0, "the worker was killed inside a job");
  for (const id of lost) assert.ok(finishedElsewhere.includes(id), `job ${id} was taken over`);
  second.child.kill("SIGTERM");
  third.child.kill("SIGTERM");
  assert.deepEqual(await Promise.all([exitOf(second.child), exitOf(third.child)]), [0, 0]);
});

test("a killed run resumes: chunks answered before are not computed again", {
  skip: SKIP,
}, async () => {
  const input = writeInput("resumed.txt", 31);
  const output = join(work, "resumed.jsonl");
  const run = spawn(process.execPath, runArgs("resumed", input, output), {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const killed = exitOf(run);
  // The jobs are in Redis before any worker runs; the run dies with none of them answered.
  await new Promise<void>((resolve) => {
    let log = "";
    run.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("0/32 lines answered")) resolve();
    });
  });
  run.kill("SIGKILL");
  await killed;
  const worker = startWorker("resumed");
  await worker.ready;
  // Let the worker answer some chunks while no run waits for them.
  while (jobsIn(worker.log, "completed").length < 3) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const again = await runToEnd(runArgs("resumed", input, output));
  assert.equal(again.status, 1, again.stderr);
  assert.match(again.stderr, /\d+ of 8 chunks were already answered/);
  assert.equal(readFileSync(output, "utf8"), predicted(input));
  // The worker's last lines may still be in its pipe.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const completed = jobsIn(worker.log, "completed");
  assert.equal(completed.length, 8, "each chunk computed once");
  assert.equal(new Set(completed).size, 8);
  worker.child.kill("SIGTERM");
  assert.equal(await exitOf(worker.child), 0);
});

test("a job whose model does not exist fails the run, saying so", { skip: SKIP }, async () => {
  const worker = startWorker("missing");
  await worker.ready;
  const input = writeInput("missing.txt", 11);
  const output = join(work, "missing.jsonl");
  const result = await runToEnd(runArgs("missing", input, output, join(work, "no-such-model")));
  assert.equal(result.status, 1);
  assert.match(result.stderr, /failed: .*no-such-model: no such model folder/);
  assert.equal(existsSync(output), false, "nothing written");
  // The failed run's jobs are not left waiting in Redis (one a worker held may fail after).
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue("missing", { connection });
  const counts = await queue.getJobCounts("waiting", "delayed", "failed", "completed");
  await queue.close();
  await connection.quit();
  assert.equal(counts.waiting + counts.delayed + counts.completed, 0, JSON.stringify(counts));
  assert.ok(counts.failed <= 1, JSON.stringify(counts));
  worker.child.kill("SIGTERM");
  assert.equal(await exitOf(worker.child), 0);
});

test("queue run without a reachable Redis says what to do", { skip: SKIP }, async () => {
  const input = writeInput("unreachable.txt", 1);
  let message = "";
  try {
    execFileSync(
      process.execPath,
      [CLI, "queue", "run", "--redis", "redis://127.0.0.1:1", "--task", "fill-mask"].concat([
        "--input",
        input,
        "--output",
        join(work, "unreachable.jsonl"),
      ]),
      { encoding: "utf8", stdio: "pipe" },
    );
  } catch (error) {
    message = String((error as { stderr: string }).stderr);
  }
  assert.match(message, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1: .*start redis-server/);
});
