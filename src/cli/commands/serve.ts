// `distilbert serve`: pipelines behind an HTTP server with Hugging Face's Inference API routes,
// text-embeddings-inference's and OpenAI's /v1/embeddings, batching concurrent requests.

import { parseArgs } from "node:util";
import { UserError } from "../../errors.js";
import { DEFAULT_MODELS, PIPELINE_TASKS, type Task } from "../../pipelines/index.js";
import { checkTask } from "../../pipelines/tasks.js";
import type { ModelSpec } from "../../server/model-worker.js";
import { DEFAULT_LIMITS, InferenceServer, type ServerLimits } from "../../server/server.js";
import { BACKEND_CHOICES } from "../../tensor/index.js";
import type { Command } from "../commands.js";
import { backendChoice, dtypeChoice, dtypeHelp, positiveInt } from "../options.js";
import { nextSignal } from "../signals.js";

/** The limit options: flag, the ServerLimits field, what it bounds. */
const LIMIT_OPTIONS: [string, keyof ServerLimits, string][] = [
  ["max-client-batch-size", "maxClientBatchSize", "inputs in one request (422 past it)"],
  ["max-batch-tokens", "maxBatchTokens", "tokens in one batch run on the model"],
  ["max-batch-requests", "maxBatchRequests", "requests sharing one batch"],
  ["max-concurrent-requests", "maxConcurrentRequests", "requests in progress (429 past it)"],
  ["payload-limit", "maxBodyBytes", "bytes in a request body (413 past it)"],
  ["headers-timeout", "headersTimeoutMs", "ms to receive a request's headers (408)"],
  ["body-timeout", "bodyTimeoutMs", "ms to receive a whole request (408)"],
  ["request-deadline", "requestDeadlineMs", "ms from arrival to answer (503; work dropped)"],
  ["shutdown-timeout", "shutdownTimeoutMs", "ms SIGTERM waits for requests in progress"],
];

const limitHelp = LIMIT_OPTIONS.map(
  ([flag, field, what]) => `  --${`${flag} N`.padEnd(27)}${what}; default ${DEFAULT_LIMITS[field]}`,
).join("\n");

const help = `distilbert serve --task TASK[=MODEL] [--task ...] [--model DIR_OR_ID] [--host HOST]
                 [--port N] [--backend NAME] [--threads N] [--dtype int8] [--api-key KEY]
                 [limits]

Serves pipelines over HTTP. Each model runs in its own worker thread, so the server answers
/health and refuses excess load at once while a batch runs; each task has its own queue, and the
inputs of concurrent requests are run together as one batch (bounded by --max-batch-tokens and
--max-batch-requests), as text-embeddings-inference (TEI) does.

Routes:
  POST /TASK        Hugging Face's Inference API: {"inputs": ..., "parameters": {...}} -> the
                    pipeline's output, in the shapes \`distilbert predict\` prints (POST / too
                    when one task is served). Feature extraction also takes TEI's top-level
                    "normalize" and "truncate", as @huggingface/inference sends them.
  POST /embed       TEI: {"inputs": text(s), "normalize": true, "truncate": false} -> vectors,
                    pooled as the model folder says (1_Pooling/config.json), else mean
  POST /v1/embeddings  OpenAI: {"input": text(s), "model": ..., "dimensions": N,
                    "encoding_format": "float" or "base64"} -> {"object": "list", "data":
                    [{"object": "embedding", "index", "embedding"}], "model", "usage"};
                    "dimensions" keeps the first N components, rescaled to unit length
  POST /similarity  TEI: {"inputs": {"source_sentence": text, "sentences": texts}} -> the
                    cosine of each sentence with the source (feature-extraction's model)
  POST /predict     TEI: {"inputs": text, [text, pair] or a list of those} -> labels, scores
  POST /rerank      TEI, with --task text-ranking=CROSS_ENCODER: {"query": text, "texts":
                    texts, "raw_scores": false, "return_text": false, "truncate": false} ->
                    [{"index", "score", "text"}], best first
  POST /embed_sparse  TEI, with --task sparse-embedding=SPLADE_MODEL: {"inputs": text(s),
                    "truncate": false} -> per text, [{"index", "value"}]: its non-zero weights
  POST /tokenize    TEI: {"inputs": text(s), "add_special_tokens": true} -> tokens, offsets
  POST /decode      TEI: {"ids": ids or a list of them, "skip_special_tokens": true} -> texts
  GET /health       {"status": "ok", "tasks": [...], "model": ...}
  GET /info         the model and this server's limits (TEI's /info)
  GET /metrics      Prometheus: requests, latency, queue size, batch sizes, errors by kind
Errors are {"error": "...", "error_type": "..."}: 400 bad JSON or inputs, 401 no or wrong API
key, 404 unknown route, 405 wrong method, 408 a client too slow to send its request, 413 body
too large, 422 too many inputs or an input too long (send "truncate": true), 429 too many
requests at once (Retry-After), 503 past the deadline, 500 a bug (logged here). A client that
disconnects has its queued work dropped. SIGTERM or Ctrl-C stops accepting, gives the requests
in progress --shutdown-timeout, answers those left 503 (Retry-After), then exits.

TASK is one of: ${PIPELINE_TASKS.slice(0, 5).join(", ")},
${PIPELINE_TASKS.slice(5, 9).join(", ")},
${PIPELINE_TASKS.slice(9).join(", ")}.

Options:
  --task TASK[=MODEL]  a task to serve, on MODEL or else --model; repeat it to serve several
                       (tasks on the same model share its worker)
  --model DIR_OR_ID    a model folder, or a Hugging Face Hub id; default: the model shipped for
                       ${Object.keys(DEFAULT_MODELS).join(", ")}
  --revision REV       Hub models: branch, tag or commit (default main)
  --host HOST          the address to listen on (default 127.0.0.1: this machine only)
  --port N             the port (default 8080; 0 picks a free one)
  --backend NAME       ${BACKEND_CHOICES.join(", ")} (default auto)
  --threads N          threads per model for the backend (default: the machine's cores)
  ${dtypeHelp(21)}
  --api-key KEY        requests need Authorization: Bearer KEY (401 otherwise; /health is open)
Limits:
${limitHelp}

Example:
  distilbert serve --task fill-mask --task feature-extraction --port 8080
  curl -s localhost:8080/fill-mask -d '{"inputs": "The [MASK] shall be vested in a President."}'
  curl -s localhost:8080/v1/embeddings -d '{"input": ["a text", "another"], "model": "any"}'
  distilbert serve --task text-ranking=./my-cross-encoder
  curl -s localhost:8080/rerank -d '{"query": "Who sailed?", "texts": ["Ishmael sailed.", "Rain."]}'`;

function port(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535 || value.trim() === "") {
    throw new UserError(`--port must be a whole number from 0 to 65535, got '${value}'`);
  }
  return number;
}

/** The models to start: the tasks grouped by the model each runs on. */
function modelSpecs(
  tasks: string[],
  model: string | undefined,
  common: Omit<ModelSpec, "tasks" | "model">,
): ModelSpec[] {
  const byModel = new Map<string, string[]>();
  for (const entry of tasks) {
    const [task, own] = entry.split("=", 2);
    checkTask(task);
    const chosen = own || model || DEFAULT_MODELS[task as Task];
    if (chosen === undefined) {
      throw new UserError(
        `${task} has no default model: pass --model DIR_OR_ID, or --task ${task}=DIR_OR_ID`,
      );
    }
    byModel.set(chosen, [...(byModel.get(chosen) ?? []), task]);
  }
  return [...byModel].map(([chosen, grouped]) => ({ ...common, model: chosen, tasks: grouped }));
}

export const serve: Command = {
  summary: "serve pipelines over HTTP: Inference API, TEI and OpenAI routes, batched",
  help,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        task: { type: "string", multiple: true },
        model: { type: "string" },
        revision: { type: "string" },
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: "8080" },
        backend: { type: "string" },
        threads: { type: "string" },
        dtype: { type: "string" },
        "api-key": { type: "string" },
        ...Object.fromEntries(LIMIT_OPTIONS.map(([flag]) => [flag, { type: "string" as const }])),
      },
    });
    if (positionals.length > 0) {
      throw new UserError(
        `serve takes its tasks as --task TASK, got also: ${positionals.join(" ")}`,
      );
    }
    const tasks = [...new Set(values.task ?? [])];
    if (tasks.length === 0) {
      throw new UserError(`serve needs --task TASK, one of: ${PIPELINE_TASKS.join(", ")}`);
    }
    const listenPort = port(values.port);
    const limits: Partial<ServerLimits> = {};
    for (const [flag, field] of LIMIT_OPTIONS) {
      const value = positiveInt(
        flag,
        (values as Record<string, unknown>)[flag] as string | undefined,
      );
      if (value !== null) limits[field] = value;
    }
    const models = modelSpecs(tasks, values.model, {
      revision: values.revision,
      backend: backendChoice(values.backend),
      threads: positiveInt("threads", values.threads) ?? undefined,
      dtype: dtypeChoice(values.dtype),
    });
    const server = await InferenceServer.start({ models, limits, apiKey: values["api-key"] });
    const address = await server.listen(listenPort, values.host);
    const served = [...server.tasks.keys()];
    const routes = served.length === 1 ? `POST / or /${served[0]}` : "POST /TASK";
    process.stderr.write(
      `distilbert serve: ${served.join(", ")} on http://${address} (${routes}, GET /health, /info, /metrics; the rest in --help); Ctrl-C stops\n`,
    );
    // Requests in progress get the shutdown timeout, then their connections are cut.
    const signal = await nextSignal();
    process.stderr.write(`distilbert serve: ${signal}, finishing the requests in progress\n`);
    await server.close().catch(() => {});
    return 0;
  },
};
