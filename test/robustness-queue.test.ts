// `distilbert queue` when Redis goes away (issue 29): a run and a worker give up after
// REDIS_LOST_MS with a clear message and exit 1; a worker stops at the first SIGTERM even while
// Redis is away, logging the outage once; a line too long to queue is answered with its error
// instead of going into Redis. Each test starts its own Debian redis-server and stops it.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { MAX_QUEUED_LINE_BYTES, REDIS_LOST_MS } from "../src/queue/jobs.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const REDIS = "/usr/bin/redis-server";
const SKIP = existsSync(REDIS) ? false : `${REDIS} is missing: apt-get install redis-server`;
const work = mkdtempSync(join(tmpdir(), "distilbert-queue-robust-"));
const started: ChildProcess[] = [];

after(() => {
  for (const child of started) if (child.exitCode === null) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const redis = spawn(
    REDIS,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  started.push(redis);
  await new Promise<void>((resolve, reject) => {
    let out = "";
    redis.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("Ready to accept connections")) resolve();
    });
    redis.on("exit", () => reject(new Error(`redis-server exited:\n${out}`)));
  });
  const exited = new Promise<void>((resolve) => redis.on("exit", () => resolve()));
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      redis.kill("SIGKILL");
      await exited;
    },
  };
}

/** A CLI process; `stderr` grows as it writes; `waitFor` resolves when a line matches. */
function cli(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  started.push(child);
  let stderr = "";
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const waiter of waiters) if (waiter.pattern.test(stderr)) waiter.resolve();
  });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    exit,
    stderr: () => stderr,
    waitFor: (pattern: RegExp) =>
      new Promise<void>((resolve) => {
        if (pattern.test(stderr)) resolve();
        else waiters.push({ pattern, resolve });
      }),
  };
}

test("Redis gone mid-run: the run and the worker give up with a clear error, exit 1", {
  skip: SKIP,
}, async () => {
  const redis = await startRedis();
  const worker = cli(["queue", "worker", "--redis", redis.url, "--queue", "gone"]);
  await worker.waitFor(/waiting for jobs/);
  const input = join(work, "gone.txt");
  writeFileSync(input, "The [MASK] is strong.\n");
  // No worker serves this queue: the run waits, as for a long job.
  const run = cli(
    ["queue", "run", "--redis", redis.url, "--queue", "nobody", "--task", "fill-mask"].concat([
      "--input",
      input,
      "--output",
      join(work, "gone.jsonl"),
    ]),
  );
  await run.waitFor(/0\/1 lines answered/);
  await redis.stop();
  const lostAt = Date.now();
  const [runCode, workerCode] = await Promise.all([run.exit, worker.exit]);
  const waited = Date.now() - lostAt;
  assert.ok(waited < REDIS_LOST_MS + 10_000, `gave up after ${waited} ms`);
  for (const [code, stderr] of [
    [runCode, run.stderr()],
    [workerCode, worker.stderr()],
  ] as const) {
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /lost Redis at redis:\/\/127\.0\.0\.1:\d+: no answer for \d+ s; start redis-server again/,
    );
    assert.doesNotMatch(stderr, /internal error|\n\s+at /);
  }
  const outage = worker
    .stderr()
    .split("\n")
    .filter((line) => /ECONNREFUSED|Connection is closed/.test(line));
  assert.ok(
    outage.length <= 2,
    `the outage is logged once, not per attempt:\n${outage.join("\n")}`,
  );
  assert.equal(existsSync(join(work, "gone.jsonl")), false);
});

test("a worker stops at the first SIGTERM while Redis is away", { skip: SKIP }, async () => {
  const redis = await startRedis();
  const worker = cli(["queue", "worker", "--redis", redis.url, "--queue", "sigterm"]);
  await worker.waitFor(/waiting for jobs/);
  await redis.stop();
  await worker.waitFor(/retrying for/);
  const signalled = Date.now();
  worker.child.kill("SIGTERM");
  const code = await worker.exit;
  // Before, it waited for Redis for good; BullMQ takes a moment to close its threads.
  assert.ok(Date.now() - signalled < 10_000, `exited ${Date.now() - signalled} ms after SIGTERM`);
  assert.equal(code, 0, worker.stderr());
  assert.match(worker.stderr(), /stopping at once: Redis is unreachable/);
});

test("a line too long to queue is answered with its error, not sent to Redis", {
  skip: SKIP,
}, async () => {
  const redis = await startRedis();
  const worker = cli(["queue", "worker", "--redis", redis.url, "--queue", "long"]);
  await worker.waitFor(/waiting for jobs/);
  const input = join(work, "long.txt");
  const long = "word ".repeat(MAX_QUEUED_LINE_BYTES / 5 + 10);
  writeFileSync(input, `The [MASK] is strong.\n${long}\nA [MASK] day.\n`);
  const output = join(work, "long.jsonl");
  const run = cli(
    ["queue", "run", "--redis", redis.url, "--queue", "long", "--task", "fill-mask"].concat([
      "--input",
      input,
      "--output",
      output,
    ]),
  );
  assert.equal(await run.exit, 1, run.stderr());
  const lines = readFileSync(output, "utf8").trimEnd().split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[1], /"line":2/);
  assert.match(lines[1], /line 2 is 1\.0 MiB, more than the 1\.0 MiB a queued input may be/);
  assert.ok(Array.isArray(JSON.parse(lines[2])));
  worker.child.kill("SIGTERM");
  assert.equal(await worker.exit, 0, worker.stderr());
  await redis.stop();
});
