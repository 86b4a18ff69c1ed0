// The HTTP server: outputs equal to the pipelines' own, every error status, one request at a time,
// graceful shutdown, and `distilbert serve` stopping cleanly on SIGTERM.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { UserError } from "../src/errors.js";
import { type Pipeline, pipeline } from "../src/pipelines/index.js";
import { createServer, type ServerOptions } from "../src/server/server.js";
import { type Backend, createBackend } from "../src/tensor/index.js";

const MODELS = "test/fixtures/pipelines/models";

async function start(options: ServerOptions): Promise<{ server: Server; url: string }> {
  const server = createServer(options);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}` };
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
}

async function post(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

/** What the pipeline returns, as it comes out of JSON. */
async function direct(pipe: Pipeline, inputs: unknown, parameters: object = {}): Promise<unknown> {
  return JSON.parse(JSON.stringify(await pipe.run(inputs, parameters)));
}

/** A pipeline stand-in whose `run` is the given function. */
function fake(run: (inputs: unknown) => Promise<unknown>): Pipeline {
  return { modelDir: "fake", run } as unknown as Pipeline;
}

describe("serve: several tasks", () => {
  let backend: Backend;
  const pipes: Record<string, Pipeline> = {};
  const logs: string[] = [];
  let server: Server;
  let url: string;

  before(async () => {
    backend = await createBackend("auto");
    pipes["fill-mask"] = await pipeline("fill-mask", undefined, { backend });
    pipes["text-classification"] = await pipeline(
      "text-classification",
      join(MODELS, "text-classification-random"),
      { backend },
    );
    pipes.ner = await pipeline("ner", join(MODELS, "token-classification-random"), { backend });
    pipes["question-answering"] = await pipeline(
      "question-answering",
      join(MODELS, "question-answering-random"),
      { backend },
    );
    pipes["zero-shot-classification"] = await pipeline(
      "zero-shot-classification",
      join(MODELS, "zero-shot-random"),
      { backend },
    );
    pipes["feature-extraction"] = await pipeline(
      "feature-extraction",
      join(MODELS, "feature-extraction-random"),
      { backend },
    );
    ({ server, url } = await start({ pipelines: pipes, log: (line) => logs.push(line) }));
  });
  after(() => stop(server));

  const cases: [string, unknown, object?][] = [
    ["fill-mask", "The [MASK] of the United States shall be vested in a President.", { top_k: 3 }],
    ["fill-mask", ["The [MASK] swam.", "We [MASK] the [MASK]."]],
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
  ];
  for (const [task, inputs, parameters] of cases) {
    test(`POST /${task} ${JSON.stringify(inputs).slice(0, 40)} equals the pipeline's output`, async () => {
      const body = parameters === undefined ? { inputs } : { inputs, parameters };
      const { status, json } = await post(`${url}/${task}`, body);
      assert.equal(status, 200);
      assert.deepEqual(json, await direct(pipes[task], inputs, parameters));
    });
  }

  test("GET /health lists the tasks and their models", async () => {
    const response = await fetch(`${url}/health?verbose=1`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    const health = (await response.json()) as { status: string; tasks: string[]; model: object };
    assert.equal(health.status, "ok");
    assert.deepEqual(health.tasks, Object.keys(pipes));
    assert.deepEqual(Object.keys(health.model), Object.keys(pipes));
  });

  test("the Inference API's `options` field is accepted", async () => {
    const body = { inputs: "A [MASK].", options: { wait_for_model: true } };
    assert.equal((await post(`${url}/fill-mask`, body)).status, 200);
  });

  const badRequests: [string, string, RegExp][] = [
    ["bad JSON", "{inputs:", /must be JSON/],
    ["an empty body", "", /must be JSON/],
    ["a list", "[1]", /must be a JSON object/],
    ["no inputs", `{"parameters": {}}`, /no "inputs"/],
    ["an unknown field", `{"inputs": "a [MASK]", "input": 1}`, /unknown field input/],
    ["parameters not an object", `{"inputs": "a [MASK]", "parameters": 3}`, /"parameters" must/],
    ["inputs the pipeline refuses", `{"inputs": 42}`, /fill-mask takes a string/],
    ["text without [MASK]", `{"inputs": "no mask"}`, /no \[MASK\]/],
    ["an unknown parameter", `{"inputs": "a [MASK]", "parameters": {"k": 1}}`, /no option 'k'/],
    ["a bad parameter", `{"inputs": "a [MASK]", "parameters": {"top_k": 0}}`, /top_k must be/],
  ];
  for (const [what, body, message] of badRequests) {
    test(`400 for ${what}`, async () => {
      const { status, json } = await post(`${url}/fill-mask`, body);
      assert.equal(status, 400);
      assert.match((json as { error: string }).error, message);
    });
  }

  test("404 for an unknown task, and for / when several tasks are served", async () => {
    for (const path of ["/summarization", "/", "/fill-mask/x", "/constructor"]) {
      const { status, json } = await post(`${url}${path}`, { inputs: "a [MASK]" });
      assert.equal(status, 404, path);
      assert.match((json as { error: string }).error, /POST \/fill-mask/);
    }
  });

  test("405 for a wrong method, with Allow", async () => {
    const get = await fetch(`${url}/fill-mask`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    assert.match(((await get.json()) as { error: string }).error, /use POST \/fill-mask/);
    const postHealth = await post(`${url}/health`, {});
    assert.equal(postHealth.status, 405);
  });

  test("one log line per request: method, path, status, time", () => {
    assert.ok(
      logs.some((line) => /^POST \/fill-mask 200 \d+ms$/.test(line)),
      logs.join("\n"),
    );
    assert.ok(logs.some((line) => /^GET \/fill-mask 405 \d+ms$/.test(line)));
  });
});

describe("serve: one task", () => {
  test("POST / runs it and /health names its model", async () => {
    const backend = await createBackend("reference");
    const fillMask = await pipeline("fill-mask", join(MODELS, "fill-mask-random"), { backend });
    const { server, url } = await start({ pipelines: { "fill-mask": fillMask }, log: () => {} });
    try {
      const inputs = "The whale swam beneath the [MASK] of the ship.";
      const { status, json } = await post(url, { inputs, parameters: { top_k: 2 } });
      assert.equal(status, 200);
      assert.deepEqual(json, await direct(fillMask, inputs, { top_k: 2 }));
      const health = await (await fetch(`${url}/health`)).json();
      assert.deepEqual(health, { status: "ok", tasks: ["fill-mask"], model: fillMask.modelDir });
    } finally {
      await stop(server);
    }
  });
});

describe("serve: limits, failures, queueing, shutdown", () => {
  test("413 for a body over the limit, declared or chunked", async () => {
    const echo = fake(async (inputs) => inputs);
    const { server, url } = await start({
      pipelines: { echo },
      maxBodyBytes: 100,
      log: () => {},
    });
    try {
      assert.equal((await post(url, { inputs: "x".repeat(80) })).status, 200);
      const declared = await post(url, { inputs: "x".repeat(200) });
      assert.equal(declared.status, 413);
      assert.match((declared.json as { error: string }).error, /larger than 100 bytes/);
      // Without Content-Length the limit is found while reading.
      const chunked = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(url, { method: "POST" }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        req.on("error", reject);
        req.write(`{"inputs": "${"x".repeat(60)}`);
        req.end(`${"x".repeat(60)}"}`);
      });
      assert.equal(chunked, 413);
    } finally {
      await stop(server);
    }
  });

  test("500 for a bug: logged, not shown to the client; UserError is 400", async () => {
    const logs: string[] = [];
    const broken = fake(async (inputs) => {
      if (inputs === "user") throw new UserError("say it differently");
      throw new TypeError("secret internals");
    });
    const { server, url } = await start({ pipelines: { broken }, log: (l) => logs.push(l) });
    try {
      const bug = await post(url, { inputs: "bug" });
      assert.equal(bug.status, 500);
      assert.doesNotMatch(JSON.stringify(bug.json), /secret/);
      assert.ok(logs.some((line) => line.includes("TypeError: secret internals")));
      assert.deepEqual(await post(url, { inputs: "user" }), {
        status: 400,
        json: { error: "say it differently" },
      });
    } finally {
      await stop(server);
    }
  });

  test("requests run one at a time", async () => {
    let running = 0;
    let mostAtOnce = 0;
    const slow = fake(async (inputs) => {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      running--;
      return inputs;
    });
    const { server, url } = await start({ pipelines: { slow }, log: () => {} });
    try {
      const answers = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => post(url, { inputs: i })));
      assert.deepEqual(
        answers.map((a) => a.json),
        [0, 1, 2, 3, 4, 5],
      );
      assert.equal(mostAtOnce, 1);
    } finally {
      await stop(server);
    }
  });

  test("close() answers the request in progress, then stops", async () => {
    let release = () => {};
    let started = () => {};
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const held = fake(async (inputs) => {
      started();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return inputs;
    });
    const { server, url } = await start({ pipelines: { held }, log: () => {} });
    const answer = post(url, { inputs: "done" });
    await running;
    const closed = stop(server);
    release();
    assert.deepEqual(await answer, { status: 200, json: "done" });
    await closed;
    await assert.rejects(fetch(`${url}/health`));
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
