// The server under load (`npm run bench:server`): `distilbert serve --task feature-extraction` on
// the embedded model, in its own process, driven over loopback by 1, 4, 16 and 64 concurrent
// clients, each a loop of POST /embed with one short text; beside them one client polls /health
// every 50 ms. Reports requests/s, p50/p99 latency, errors, /health's p99 and the server's memory
// after each level, as a table (or JSON lines with --json).
//   npm run bench:server [-- --seconds 5 --levels 1,4,16,64 --dtype int8 --threads N --json]

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "dist", "src", "cli", "main.js");

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    levels: { type: "string", default: "1,4,16,64" },
    json: { type: "boolean", default: false },
    dtype: { type: "string" },
    threads: { type: "string" },
  },
});
const seconds = Number(values.seconds);
const levels = values.levels.split(",").map(Number);

const TEXTS = [
  "The executive power shall be vested in a President of the United States.",
  "Congress shall have power to lay and collect taxes.",
  "The state of the union is strong.",
  "We must balance the budget and cut the deficit.",
];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function residentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

async function startServer(): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      "serve",
      "--task",
      "feature-extraction",
      "--port",
      "0",
      "--max-concurrent-requests",
      "1024",
      ...(values.dtype ? ["--dtype", values.dtype] : []),
      ...(values.threads ? ["--threads", values.threads] : []),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const found = /on (http:\/\/[^ ]+) /.exec(stderr);
      if (found) resolve(found[1]);
    });
    child.on("exit", () => reject(new Error(`serve exited:\n${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return {
    url,
    pid: child.pid as number,
    stop: () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

interface LevelResult {
  clients: number;
  requests: number;
  errors: number;
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  health_p99_ms: number;
  server_rss_mb: number;
}

async function runLevel(url: string, pid: number, clients: number): Promise<LevelResult> {
  const end = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  const health: number[] = [];
  let errors = 0;
  const client = async (id: number) => {
    for (let i = 0; performance.now() < end; i++) {
      const started = performance.now();
      try {
        const response = await fetch(`${url}/embed`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ inputs: `${TEXTS[(id + i) % TEXTS.length]} (${id}.${i})` }),
        });
        await response.arrayBuffer();
        if (response.status === 200) latencies.push(performance.now() - started);
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  const poller = async () => {
    while (performance.now() < end) {
      const started = performance.now();
      await (await fetch(`${url}/health`)).arrayBuffer();
      health.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const started = performance.now();
  await Promise.all([...Array.from({ length: clients }, (_, id) => client(id)), poller()]);
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  health.sort((a, b) => a - b);
  return {
    clients,
    requests: latencies.length,
    errors,
    requests_per_s: latencies.length / elapsed,
    p50_ms: percentile(latencies, 0.5),
    p99_ms: percentile(latencies, 0.99),
    health_p99_ms: percentile(health, 0.99),
    server_rss_mb: residentMb(pid),
  };
}

const server = await startServer();
try {
  // Warm-up: the first forward passes allocate.
  await runLevel(server.url, server.pid, 4);
  const results: LevelResult[] = [];
  for (const clients of levels) results.push(await runLevel(server.url, server.pid, clients));
  if (values.json) {
    for (const result of results) console.log(JSON.stringify(result));
  } else {
    const one = results.find((r) => r.clients === 1)?.requests_per_s ?? Number.NaN;
    console.log(
      "| clients | requests/s | vs 1 client | p50 ms | p99 ms | errors | /health p99 ms | server RSS MB |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const r of results) {
      console.log(
        `| ${r.clients} | ${r.requests_per_s.toFixed(0)} | ${(r.requests_per_s / one).toFixed(2)}x | ${r.p50_ms.toFixed(1)} | ${r.p99_ms.toFixed(1)} | ${r.errors} | ${r.health_p99_ms.toFixed(1)} | ${r.server_rss_mb.toFixed(0)} |`,
      );
    }
  }
} finally {
  await server.stop();
}
