// The HTTP server, started for real on 127.0.0.1: outputs equal to the pipelines' own on every
// route, batching across requests, every limit and status, /health beside a long request, a
// departed client's work dropped, shutdown with a stalled client, /metrics, the real OpenAI and
// Hugging Face clients, and `distilbert serve` stopping cleanly on SIGTERM.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { InferenceClient } from "@huggingface/inference";
import OpenAI from "openai";
import { type Pipeline, pipeline } from "../src/pipelines/index.js";
import { InferenceServer, type ServerOptions } from "../src/server/server.js";
import { type Backend, createBackend } from "../src/tensor/index.js";

const MODELS = "test/fixtures/pipelines/models";

async function start(options: ServerOptions): Promise<{ server: InferenceServer; url: string }> {
  const server = await InferenceServer.start({ log: () => {}, ...options });
  return { server, url: `http://${await server.listen(0, "127.0.0.1")}` };
}

async function post(
  url: string,
  body: unknown,
  init: RequestInit = {},
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const response = await fetch(url, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
  return { status: response.status, json: await response.json(), headers: response.headers };
}

/** What the pipeline returns, as it comes out of JSON. */
async function direct(pipe: Pipeline, inputs: unknown, parameters: object = {}): Promise<unknown> {
  return JSON.parse(JSON.stringify(await pipe.run(inputs, parameters)));
}

/** Equal, numbers within `tolerance` (batched forward passes pad differently). */
function assertClose(actual: unknown, expected: unknown, tolerance = 1e-5, path = "$"): void {
  if (typeof expected === "number") {
    assert.equal(typeof actual, "number", path);
    assert.ok(
      Math.abs((actual as number) - expected) <= tolerance,
      `${path}: ${actual} vs ${expected}`,
    );
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), path);
    assert.equal((actual as unknown[]).length, expected.length, path);
    for (const [i, e] of expected.entries()) {
      assertClose((actual as unknown[])[i], e, tolerance, `${path}[${i}]`);
    }
  } else if (expected !== null && typeof expected === "object") {
    assert.deepEqual(Object.keys(actual as object).sort(), Object.keys(expected).sort(), path);
    for (const [key, e] of Object.entries(expected)) {
      assertClose((actual as Record<string, unknown>)[key], e, tolerance, `${path}.${key}`);
    }
  } else {
    assert.equal(actual, expected, path);
  }
}

/** A metric's samples from the server's own registry, by label set. */
async function samples(server: InferenceServer, name: string): Promise<Map<string, number>> {
  const metrics = await server.metrics.registry.getMetricsAsJSON();
  const found = new Map<string, number>();
  for (const metric of metrics) {
    for (const value of metric.values as { metricName?: string; labels: object; value: number }[]) {
      if ((value.metricName ?? metric.name) === name) {
        found.set(JSON.stringify(value.labels), value.value);
      }
    }
  }
  return found;
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** 32 texts of about 500 tokens: a request that keeps the model busy for a while. */
const LONG_TEXTS = Array.from({ length: 32 }, (_, i) =>
  `${i} the congress shall have power to lay and collect taxes `.repeat(50),
);

describe("serve: every task, equal to the pipelines", () => {
  let backend: Backend;
  const pipes: Record<string, Pipeline> = {};
  const tasks: [string, string | undefined][] = [
    ["fill-mask", undefined],
    ["text-classification", join(MODELS, "text-classification-random")],
    ["ner", join(MODELS, "token-classification-random")],
    ["question-answering", join(MODELS, "question-answering-random")],
    ["zero-shot-classification", join(MODELS, "zero-shot-random")],
    ["feature-extraction", join(MODELS, "feature-extraction-random")],
  ];
  let server: InferenceServer;
  let url: string;

  before(async () => {
    backend = await createBackend("auto");
    for (const [task, model] of tasks) {
      pipes[task] = await pipeline(task as "fill-mask", model, { backend });
    }
    ({ server, url } = await start({
      models: tasks.map(([task, model]) => ({ tasks: [task], model })),
    }));
  });
  after(() => server.close());

  const cases: [string, unknown, object?][] = [
    ["fill-mask", "The [MASK] of the United States shall be vested in a President.", { top_k: 3 }],
    ["fill-mask", ["The [MASK] swam.", "We [MASK] the [MASK]."]],
    ["text-classification", "I loved it."],
    ["text-classification", { text: "Hugo met Angela.", text_pair: "In Berlin." }, { top_k: null }],
    ["text-classification", ["I loved it.", "I did not."]],
    ["ner", "Hugo Chavez met Angela Merkel in Berlin.", { aggregation_strategy: "simple" }],
    ["question-answering", { question: "Who sailed?", context: "Ishmael sailed on the Pequod." }],
    [
      "zero-shot-classification",
      "Congress passed the budget.",
      { candidate_labels: ["politics", "sports"], multi_label: true },
    ],
    ["feature-extraction", "Hugo Chavez met Angela Merkel.", { pooling: "mean", normalize: true }],
    ["feature-extraction", ["Hugo.", "Angela Merkel met him."]],
  ];
  for (const [task, inputs, parameters] of cases) {
    test(`POST /${task} ${JSON.stringify(inputs).slice(0, 40)} equals the pipeline's output`, async () => {
      const body = parameters === undefined ? { inputs } : { inputs, parameters };
      const { status, json } = await post(`${url}/${task}`, body);
      assert.equal(status, 200);
      assertClose(json, await direct(pipes[task], inputs, parameters));
    });
  }

  test("GET /health lists the tasks and their models; /info the limits", async () => {
    const response = await fetch(`${url}/health`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    const health = (await response.json()) as { status: string; tasks: string[]; model: object };
    assert.equal(health.status, "ok");
    assert.deepEqual(health.tasks, Object.keys(pipes));
    assert.deepEqual(Object.keys(health.model), Object.keys(pipes));
    const info = (await (await fetch(`${url}/info`)).json()) as Record<string, unknown>;
    assert.equal(info.max_client_batch_size, 32);
    assert.equal(info.max_batch_tokens, 16384);
  });

  const badRequests: [string, string, number, RegExp][] = [
    ["bad JSON", "{inputs:", 400, /must be JSON/],
    ["a list", "[1]", 400, /must be a JSON object/],
    ["no inputs", `{"parameters": {}}`, 400, /no "inputs"/],
    ["an unknown field", `{"inputs": "a [MASK]", "input": 1}`, 400, /unknown field input/],
    ["parameters not an object", `{"inputs": "a [MASK]", "parameters": 3}`, 400, /"parameters"/],
    ["inputs the pipeline refuses", `{"inputs": 42}`, 400, /fill-mask takes a string/],
    ["text without [MASK]", `{"inputs": "no mask"}`, 400, /no \[MASK\]/],
    ["an unknown parameter", `{"inputs": "a [MASK]", "parameters": {"k": 1}}`, 400, /no option/],
    ["too many inputs", JSON.stringify({ inputs: Array(33).fill("a [MASK].") }), 422, /at most 32/],
    ["an input too long", JSON.stringify({ inputs: `${"a ".repeat(600)}[MASK]` }), 422, /512/],
  ];
  for (const [what, body, status, message] of badRequests) {
    test(`${status} for ${what}`, async () => {
      const answer = await post(`${url}/fill-mask`, body);
      assert.equal(answer.status, status);
      assert.match((answer.json as { error: string }).error, message);
    });
  }

  test("one bad input among batched requests fails only its own request", async () => {
    const answers = await Promise.all([
      post(`${url}/fill-mask`, { inputs: "The [MASK] swam." }),
      post(`${url}/fill-mask`, { inputs: "no mask here" }),
      post(`${url}/fill-mask`, { inputs: "We [MASK] it." }),
    ]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 400, 200],
    );
    assertClose(answers[2].json, await direct(pipes["fill-mask"], "We [MASK] it."));
  });

  test("404 for an unknown route, 405 with Allow for a wrong method", async () => {
    assert.equal((await post(`${url}/nope`, { inputs: "x" })).status, 404);
    assert.equal((await post(url, { inputs: "x" })).status, 404, "/ with several tasks");
    const get = await fetch(`${url}/fill-mask`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    assert.equal((await post(`${url}/health`, {})).status, 405);
  });
});

describe("serve: batching, limits, departures, metrics, clients", () => {
  const embedded = undefined;
  let server: InferenceServer;
  let url: string;
  let embedder: Pipeline;

  before(async () => {
    ({ server, url } = await start({
      models: [{ tasks: ["feature-extraction", "fill-mask"], model: embedded }],
      limits: { maxConcurrentRequests: 40 },
    }));
    embedder = await pipeline("feature-extraction", embedded, { backend: "auto" });
  });
  after(() => server.close());

  const longRequest = () =>
    post(`${url}/embed`, { inputs: LONG_TEXTS, truncate: true }).then((answer) => {
      assert.equal(answer.status, 200);
      return answer;
    });

  test("concurrent requests are batched together, each answered with its own outputs", async () => {
    const batches = async () => (await samples(server, "te_batch_next_requests_count")).size;
    const busy = longRequest();
    await until(async () => (await batches()) > 0, "the long batch");
    const texts = Array.from({ length: 16 }, (_, i) => `request ${i} about the union`);
    const answers = await Promise.all(texts.map((text) => post(`${url}/embed`, { inputs: text })));
    await busy;
    for (const [i, answer] of answers.entries()) {
      assert.equal(answer.status, 200);
      const expected = await direct(embedder, [texts[i]], { pooling: "mean", normalize: true });
      assertClose(answer.json, expected);
    }
    const requests = await samples(server, "te_batch_next_requests_sum");
    const count = await samples(server, "te_batch_next_requests_count");
    const key = JSON.stringify({ task: "feature-extraction" });
    // 17 requests in fewer batches than requests: the 16 waited together behind the long one.
    assert.ok((count.get(key) ?? 0) < (requests.get(key) ?? 0), `${[...count]} ${[...requests]}`);
  });

  test("/health answers while a long request runs", async () => {
    let longDone = false;
    const busy = longRequest().then(() => {
      longDone = true;
    });
    await until(() => server.requestsInFlight > 0, "the long request");
    const health = await fetch(`${url}/health`);
    assert.equal(health.status, 200);
    assert.equal(longDone, false, "health waited for the long request");
    await busy;
  });

  test("a client that leaves has its queued work dropped, and it is no error", async () => {
    const inputsRun = async () =>
      (await samples(server, "te_batch_next_size_sum")).get(
        JSON.stringify({ task: "fill-mask" }),
      ) ?? 0;
    const before = await inputsRun();
    const busy = post(`${url}/fill-mask`, {
      inputs: LONG_TEXTS.slice(0, 4).map((t) => `${t.slice(0, 900)} [MASK]`),
    });
    await until(async () => (await inputsRun()) > before, "the first batch");
    const leaving = new AbortController();
    const left = fetch(`${url}/fill-mask`, {
      method: "POST",
      body: JSON.stringify({ inputs: ["gone [MASK]", "also [MASK]"] }),
      signal: leaving.signal,
    }).catch((error: Error) => error.name);
    await until(() => server.tasks.get("fill-mask")?.batcher.waiting === 2, "the queued request");
    leaving.abort();
    assert.equal(await left, "AbortError");
    assert.equal((await busy).status, 200);
    await until(() => server.tasks.get("fill-mask")?.batcher.waiting === 0, "the drop");
    assert.equal(await inputsRun(), before + 4, "the departed client's inputs ran");
    const failures = await samples(server, "te_request_failure");
    assert.ok((failures.get(JSON.stringify({ kind: "Aborted" })) ?? 0) >= 1);
    assert.ok(!failures.has(JSON.stringify({ kind: "Backend" })));
  });

  test("429 with Retry-After past --max-concurrent-requests", async () => {
    const busy = longRequest();
    await until(() => server.requestsInFlight > 0, "the long request");
    const answers = await Promise.all(
      Array.from({ length: 44 }, (_, i) => post(`${url}/embed`, { inputs: `text ${i}` })),
    );
    await busy;
    const refused = answers.filter((answer) => answer.status === 429);
    assert.equal(refused.length, 5, "40 in flight: the long request and 39 of the 44");
    assert.equal(refused[0].headers.get("retry-after"), "1");
    assert.ok(answers.every((answer) => answer.status === 200 || answer.status === 429));
  });

  test("413 for a body over the limit, declared or chunked", async () => {
    const big = JSON.stringify({ inputs: "x".repeat(3 * 1024 * 1024) });
    assert.equal((await post(`${url}/embed`, big)).status, 413);
    const chunked = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 3; i++)
          controller.enqueue(new TextEncoder().encode("x".repeat(1 << 20)));
        controller.close();
      },
    });
    const response = await fetch(`${url}/embed`, {
      method: "POST",
      body: chunked,
      duplex: "half",
    } as RequestInit);
    assert.equal(response.status, 413);
  });

  test("TEI routes: /embed, /tokenize, /decode", async () => {
    const embed = await post(`${url}/embed`, { inputs: ["Hugo.", "Angela."] });
    assertClose(
      embed.json,
      await direct(embedder, ["Hugo.", "Angela."], { pooling: "mean", normalize: true }),
    );
    const raw = await post(`${url}/embed`, { inputs: "Hugo.", normalize: false });
    assertClose(raw.json, await direct(embedder, ["Hugo."], { pooling: "mean" }));
    const tokens = (await post(`${url}/tokenize`, { inputs: "Hello world" })).json as {
      id: number;
      text: string;
      special: boolean;
      start: number | null;
    }[][];
    assert.deepEqual(
      tokens[0].map((t) => [t.text, t.special, t.start]),
      [
        ["[CLS]", true, null],
        ["Hello", false, 0],
        ["world", false, 6],
        ["[SEP]", true, null],
      ],
    );
    const decoded = await post(`${url}/decode`, { ids: tokens[0].map((t) => t.id) });
    assert.deepEqual(decoded.json, ["hello world"]);
    assert.equal((await post(`${url}/embed`, { inputs: "x", prompt_name: "query" })).status, 422);
  });

  test("OpenAI's client: embeddings.create on /v1/embeddings, floats and base64", async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused" });
    const input = ["The president of the union.", "A ship at sea."];
    const expected = await direct(embedder, input, { pooling: "mean", normalize: true });
    // The client asks for base64 unless told otherwise, and decodes it.
    const result = await client.embeddings.create({ model: "anything", input });
    assert.equal(result.object, "list");
    assertClose(
      result.data.map((d) => d.embedding),
      expected,
      1e-7,
    );
    assert.deepEqual(
      result.data.map((d) => d.index),
      [0, 1],
    );
    assert.ok(result.usage.prompt_tokens > 0);
    const floats = await client.embeddings.create({
      model: "anything",
      input: input[0],
      encoding_format: "float",
    });
    assertClose(floats.data[0].embedding, (expected as number[][])[0]);
  });

  test("Hugging Face's client: featureExtraction with normalize and truncate, fillMask", async () => {
    const client = new InferenceClient();
    const text = "The union of the states.";
    const vectors = await client.featureExtraction({
      endpointUrl: `${url}/feature-extraction`,
      inputs: text,
      normalize: true,
      truncate: true,
    });
    const expected = await direct(embedder, text, {
      normalize: true,
      truncation: true,
      max_length: 512,
    });
    assertClose(vectors, expected);
    const masked = "The [MASK] shall be vested in a President.";
    const predictions = await client.fillMask({ endpointUrl: `${url}/fill-mask`, inputs: masked });
    const fillMask = await pipeline("fill-mask", undefined, { backend: "auto" });
    assertClose(predictions, await direct(fillMask, masked));
  });

  test("/metrics is Prometheus text with the queue, batch, latency and error series", async () => {
    const response = await fetch(`${url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0.0.4/);
    const text = await response.text();
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? -?[0-9.e+Na-]+$/, line);
    }
    for (const name of [
      "te_queue_size",
      "te_batch_next_size_bucket",
      "te_request_duration_seconds_bucket",
      "te_request_failure",
      "te_batch_inference_duration_seconds_count",
    ]) {
      assert.ok(text.includes(`\n${name}{`), name);
    }
  });
});

describe("serve: timeouts, deadline, API key, shutdown", () => {
  let server: InferenceServer;
  let url: string;
  let port: number;

  const startLimited = () =>
    start({
      models: [{ tasks: ["feature-extraction"] }],
      limits: {
        headersTimeoutMs: 400,
        bodyTimeoutMs: 800,
        requestDeadlineMs: 50,
        shutdownTimeoutMs: 300,
      },
      apiKey: "secret",
    });

  before(async () => {
    ({ server, url } = await startLimited());
    port = Number(new URL(url).port);
  });
  after(() => server.close());

  const auth = { headers: { Authorization: "Bearer secret" } };

  /** Sends `text` on a raw connection and resolves with what comes back before it closes. */
  const raw = (text: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => socket.write(text));
      let answer = "";
      socket.on("data", (chunk) => {
        answer += chunk.toString();
      });
      socket.on("close", () => resolve(answer));
      socket.on("error", reject);
    });

  test("401 without the API key; /health is open", async () => {
    const refused = await post(`${url}/embed`, { inputs: "x" });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get("www-authenticate"), "Bearer");
    assert.equal((await fetch(`${url}/health`)).status, 200);
  });

  test("408 for headers that never end, and for a body that never comes", async () => {
    assert.match(await raw("POST /embed HTTP/1.1\r\nHost: x\r\n"), /^HTTP\/1.1 408/);
    const stalled =
      "POST /embed HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\nContent-Length: 100\r\n\r\n{";
    assert.match(await raw(stalled), /^HTTP\/1.1 408/);
  });

  test("503 past the per-request deadline", async () => {
    const answer = await post(`${url}/embed`, { inputs: LONG_TEXTS, truncate: true }, auth);
    assert.equal(answer.status, 503);
    assert.match((answer.json as { error: string }).error, /deadline/);
  });

  test("close() with a stalled client: stops within the shutdown timeout", async () => {
    // A server of its own: the deadline test's dropped request may still hold the shared one's
    // worker in a batch, which close() lets finish.
    const own = await startLimited();
    const ownPort = Number(new URL(own.url).port);
    const accepted = new Promise((resolve) => own.server.server.once("connection", resolve));
    const socket = connect(ownPort, "127.0.0.1", () =>
      socket.write("POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"),
    );
    // Read what comes back (a paused socket never sees the server close it).
    socket.resume();
    const closed = new Promise((resolve) => socket.on("close", resolve));
    await accepted;
    const started = Date.now();
    await own.server.close();
    await closed;
    assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
  });
});

test("distilbert serve: listens, answers, stops on SIGTERM", async () => {
  const child = spawn(
    process.execPath,
    [
      "dist/src/cli/main.js",
      "serve",
      "--task",
      "fill-mask",
      "--model",
      join(MODELS, "fill-mask-random"),
      "--port",
      "0",
      "--backend",
      "reference",
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
    child.on("exit", () => reject(new Error(`serve exited early:\n${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const { status, json } = await post(url, { inputs: "The [MASK] of the ship." });
  assert.equal(status, 200);
  assert.equal((json as unknown[]).length, 5);
  child.kill("SIGTERM");
  assert.equal(await exited, 0);
  assert.match(stderr, /POST \/ 200 \d+ms/);
  assert.match(stderr, /SIGTERM/);
});
