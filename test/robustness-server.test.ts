// What a hostile or careless client does to `serve` and `web` (issue 29): deeply nested JSON on
// every route, a shutdown under load, a wrong API key, /health read by anyone; a body that never
// ends, a download nobody reads, links out of a model folder.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { MAX_JSON_DEPTH } from "../src/io/json-depth.js";
import { InferenceServer, type ServerOptions } from "../src/server/server.js";
import { WebServer } from "../src/server/web-server.js";

const MODELS = "test/fixtures/pipelines/models";

async function start(options: ServerOptions, log: string[] = []) {
  const server = await InferenceServer.start({ log: (line) => log.push(line), ...options });
  return { server, url: `http://${await server.listen(0, "127.0.0.1")}` };
}

/** `inner` inside `depth` arrays, as text: JSON.stringify itself would overflow on deep values. */
function nested(depth: number, inner = '"a"'): string {
  return `${"[".repeat(depth)}${inner}${"]".repeat(depth)}`;
}

const ROUTES = [
  "/",
  "/text-classification",
  "/feature-extraction",
  "/embed",
  "/embed_sparse",
  "/similarity",
  "/rerank",
  "/v1/embeddings",
  "/predict",
  "/tokenize",
  "/decode",
];

describe("a server with a key", () => {
  const log: string[] = [];
  let server: InferenceServer;
  let url: string;
  const auth = { Authorization: "Bearer the-key" };
  before(async () => {
    ({ server, url } = await start(
      {
        models: [{ tasks: ["text-classification"], model: `${MODELS}/text-classification-random` }],
        apiKey: "the-key",
      },
      log,
    ));
  });
  after(() => server.close());

  test("nesting past the limit in any field answers 422 on every route, with no stack logged", async () => {
    const bodies = [
      `{"inputs": ${nested(5000)}}`,
      `{"inputs": "a", "parameters": {"top_k": ${nested(5000)}}}`,
      `{"inputs": {"source_sentence": "a", "sentences": ${nested(5000)}}}`,
      `{"query": "a", "texts": ${nested(5000)}}`,
      `{"ids": ${nested(5000, "1")}}`,
      nested(MAX_JSON_DEPTH + 1),
    ];
    for (const route of ROUTES) {
      for (const body of bodies) {
        const response = await fetch(`${url}${route}`, { method: "POST", body, headers: auth });
        const answer = (await response.json()) as { error: string };
        assert.equal(response.status, 422, `${route} ${body.slice(0, 60)}`);
        assert.match(answer.error, new RegExp(`more than ${MAX_JSON_DEPTH} deep`));
      }
    }
    const ok = await fetch(`${url}/`, {
      method: "POST",
      body: JSON.stringify({ inputs: [{ text: "a", text_pair: "b" }] }),
      headers: auth,
    });
    assert.equal(ok.status, 200, "ordinary nesting passes");
    assert.deepEqual(
      log.filter((line) => /internal error|\n\s+at |RangeError/.test(line)),
      [],
    );
  });

  test("the API key: right, wrong, of another length, or absent", async () => {
    const body = JSON.stringify({ inputs: "a" });
    const status = async (headers: Record<string, string>) =>
      (await fetch(`${url}/`, { method: "POST", body, headers })).status;
    assert.equal(await status(auth), 200);
    assert.equal(await status({ Authorization: "Bearer the-kez" }), 401);
    assert.equal(await status({ Authorization: "Bearer the-key-and-more" }), 401);
    assert.equal(await status({}), 401);
  });

  test("the open /health names the model's folder, not where it is on disk", async () => {
    const health = (await (await fetch(`${url}/health`)).json()) as { model: string };
    assert.equal(health.model, "text-classification-random");
    const info = (await (await fetch(`${url}/info`, { headers: auth })).json()) as {
      model_id: string;
    };
    assert.equal(info.model_id, "text-classification-random");
  });
});

test("close() under load answers 503 with Retry-After to what it will not finish; nothing is reset", async () => {
  const { server, url } = await start({
    models: [{ tasks: ["feature-extraction"] }],
    limits: { shutdownTimeoutMs: 200, maxBatchRequests: 1 },
  });
  const texts = Array.from({ length: 32 }, (_, i) => `${i} to lay and collect taxes `.repeat(40));
  const requests = Array.from({ length: 12 }, () =>
    fetch(`${url}/embed`, {
      method: "POST",
      body: JSON.stringify({ inputs: texts, truncate: true }),
    }).then(
      async (response) => ({
        status: response.status,
        retryAfter: response.headers.get("retry-after"),
        body: await response.text(),
      }),
      (error: Error) => ({ status: 0, retryAfter: null, body: String(error.cause ?? error) }),
    ),
  );
  // Every request admitted (a connection still in the listen backlog when the listener closes is
  // reset by the kernel, as for any server that stops accepting).
  while (server.requestsInFlight < requests.length) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const started = Date.now();
  await server.close();
  const answers = await Promise.all(requests);
  assert.ok(Date.now() - started < 5000, `closed in ${Date.now() - started} ms`);
  for (const answer of answers) {
    assert.ok([200, 503].includes(answer.status), `${answer.status} ${answer.body.slice(0, 200)}`);
    if (answer.status === 503) {
      assert.equal(answer.retryAfter, "1");
      assert.match(answer.body, /shutting down/);
    }
  }
  assert.ok(
    answers.some((answer) => answer.status === 503),
    "the load outlasts the shutdown timeout",
  );
});

describe("distilbert web's server", () => {
  const ROOT = join(import.meta.dirname, "..", "..");
  const TEACHER = join(ROOT, "models", "bert-mini-sotu");
  const folders = mkdtempSync(join(tmpdir(), "distilbert-web-links-"));
  const secret = join(folders, "secret.txt");
  // A model folder whose vocab.txt links out of it, and whose config.json links inside it.
  const linked = join(folders, "linked");
  // A Hub cache snapshot: its files are links to the repository's blobs.
  const snapshot = join(folders, "models--org--tiny", "snapshots", "abc123");
  let server: WebServer;
  let origin: string;
  const limits = {
    headersTimeoutMs: 400,
    bodyTimeoutMs: 600,
    idleTimeoutMs: 800,
    shutdownTimeoutMs: 300,
  };
  before(async () => {
    writeFileSync(secret, "not for clients");
    mkdirSync(linked);
    writeFileSync(join(linked, "real-config.json"), "{}");
    symlinkSync(join(linked, "real-config.json"), join(linked, "config.json"));
    symlinkSync(secret, join(linked, "vocab.txt"));
    mkdirSync(snapshot, { recursive: true });
    mkdirSync(join(folders, "models--org--tiny", "blobs"));
    writeFileSync(join(folders, "models--org--tiny", "blobs", "f00d"), "{}");
    symlinkSync("../../blobs/f00d", join(snapshot, "config.json"));
    symlinkSync(secret, join(snapshot, "tokenizer.json"));
    server = new WebServer(
      join(ROOT, "dist", "web"),
      [
        { name: "linked", dir: linked },
        { name: "hub", dir: snapshot },
        { name: "big", dir: TEACHER },
      ],
      limits,
    );
    origin = await server.listen(0, "127.0.0.1");
  });
  after(async () => {
    await server.close();
    rmSync(folders, { recursive: true, force: true });
  });

  test("links are followed only when they stay inside the model folder or the Hub cache", async () => {
    const status = async (path: string) => (await fetch(new URL(path, origin))).status;
    assert.equal(await status("models/linked/config.json"), 200);
    assert.equal(await status("models/linked/vocab.txt"), 404);
    assert.equal(await status("models/hub/config.json"), 200);
    assert.equal(await status("models/hub/tokenizer.json"), 404);
  });

  /**
   * Sends `text` on a raw connection and reads nothing for `pauseMs`, then reads what is left:
   * resolves with the bytes that came. (A paused socket never sees the server close it.)
   */
  const stalled = (text: string, pauseMs: number): Promise<number> =>
    new Promise((resolve) => {
      const socket = connect(Number(new URL(origin).port), "127.0.0.1", () => socket.write(text));
      let received = 0;
      setTimeout(() => {
        socket.on("data", (chunk: Buffer) => {
          received += chunk.length;
        });
      }, pauseMs);
      socket.on("close", () => resolve(received));
      socket.on("error", () => resolve(received));
    });

  test("a body that never ends answers 408; a download nobody reads is cut when idle", async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(origin).port), "127.0.0.1", () =>
        socket.write("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"),
      );
      let answer = "";
      socket.on("data", (chunk) => {
        answer += chunk.toString();
      });
      socket.on("close", () => resolve(answer));
      socket.on("error", reject);
    });
    // The app has no POST route: it answers 404 at once, then Node times the body out.
    assert.match(body, /HTTP\/1.1 408 Request Timeout/);
    // model.safetensors is 23 MB: far more than the socket buffers hold, so the answer stalls.
    const request = "GET /models/big/model.safetensors HTTP/1.1\r\nHost: x\r\n\r\n";
    const received = await stalled(request, limits.idleTimeoutMs + 1500);
    const size = statSync(join(TEACHER, "model.safetensors")).size;
    assert.ok(received < size, `${received} of ${size} bytes: the download was not cut`);
  });

  test("close() cuts a stalled download after its shutdown timeout", async () => {
    const own = new WebServer(join(ROOT, "dist", "web"), [{ name: "big", dir: TEACHER }], {
      ...limits,
      idleTimeoutMs: 60_000,
    });
    const ownOrigin = await own.listen(0, "127.0.0.1");
    const socket = connect(Number(new URL(ownOrigin).port), "127.0.0.1", () =>
      socket.write("GET /models/big/model.safetensors HTTP/1.1\r\nHost: x\r\n\r\n"),
    );
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("data", resolve));
    socket.pause();
    const started = Date.now();
    await own.close();
    assert.ok(Date.now() - started < limits.shutdownTimeoutMs + 2000, `${Date.now() - started} ms`);
    socket.destroy();
  });
});

/** The resident memory of process `pid` in MiB (Linux's /proc). */
function residentMib(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

test("distilbert serve gives back the memory of a burst of long inputs once idle", {
  skip: process.platform !== "linux" && "reads /proc",
}, async () => {
  // A process of its own, as serve runs: this one has run other servers' workers, whose freed
  // memory the allocator keeps in its own ways.
  const child = spawn(
    process.execPath,
    ["dist/src/cli/main.js", "serve", "--task", "feature-extraction", "--port", "0"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const exited = new Promise((resolve) => child.on("exit", resolve));
  try {
    let stderr = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        const found = /on (http:\/\/[^ ]+) /.exec(stderr);
        if (found) resolve(found[1]);
      });
      child.on("exit", () => reject(new Error(`serve exited early:\n${stderr}`)));
    });
    const embed = (words: number) =>
      fetch(`${url}/embed`, {
        method: "POST",
        body: JSON.stringify({
          inputs: Array.from({ length: 32 }, (_, i) => `${i} tax `.repeat(words)),
          truncate: true,
        }),
      }).then((response) => response.arrayBuffer());
    await embed(1);
    const pid = child.pid as number;
    const base = residentMib(pid);
    await Promise.all([embed(512), embed(200)]);
    const peak = residentMib(pid);
    assert.ok(peak > base + 200, `the burst took ${(peak - base).toFixed(0)} MiB`);
    // The worker releases its buffers 2 s after the last batch.
    let now = peak;
    for (const started = Date.now(); Date.now() - started < 8000 && now > base + 100; ) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      now = residentMib(pid);
    }
    assert.ok(
      now < base + 100,
      `${base.toFixed(0)} -> ${peak.toFixed(0)} -> ${now.toFixed(0)} MiB`,
    );
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
});
