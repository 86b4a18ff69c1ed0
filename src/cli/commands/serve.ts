// `distilbert serve`: pipelines behind an HTTP server, shaped like Hugging Face's Inference API.

import type { Server } from "node:http";
import { parseArgs } from "node:util";
import { backendChoice, DTYPE_HELP, dtypeChoice, positiveInt } from "../../distill/cli-options.js";
import { UserError } from "../../errors.js";
import {
  DEFAULT_MODELS,
  PIPELINE_TASKS,
  type Pipeline,
  pipeline,
  type Task,
} from "../../pipelines/index.js";
import { createServer, DEFAULT_MAX_BODY_BYTES } from "../../server/server.js";
import { BACKEND_CHOICES, createBackend } from "../../tensor/index.js";
import type { Command } from "../commands.js";

const help = `distilbert serve --task TASK [--task TASK2 ...] [--model DIR_OR_ID] [--host HOST]
                 [--port N] [--backend NAME] [--threads N] [--dtype int8] [--max-body-bytes N]

Serves pipelines over HTTP, as Hugging Face's Inference API does: POST a JSON body
{"inputs": ..., "parameters": {...}} and get the pipeline's output as JSON, in the shapes
\`distilbert predict\` prints. "inputs" is what the pipeline takes (a string, a list of strings,
{"question", "context"}, ...); "parameters" are its options (see distilbert predict --help).

Routes:
  POST /TASK     run TASK's pipeline (POST / also works when one task is served)
  GET /health    {"status": "ok", "tasks": [...], "model": ...}
Errors are {"error": "..."}: 400 bad JSON or inputs, 404 unknown route, 405 wrong method,
413 body too large, 500 a bug (logged here). Requests are answered one at a time, in order.
One line per request is logged on stderr. Ctrl-C finishes the requests in progress, then stops.

TASK is one of: ${PIPELINE_TASKS.slice(0, 5).join(", ")},
${PIPELINE_TASKS.slice(5).join(", ")}.

Options:
  --task TASK          a task to serve; repeat it to serve several from the same model
  --model DIR_OR_ID    a model folder, or a Hugging Face Hub id; default: the model shipped for
                       ${Object.keys(DEFAULT_MODELS).join(", ")}
  --revision REV       Hub models: branch, tag or commit (default main)
  --host HOST          the address to listen on (default 127.0.0.1: this machine only)
  --port N             the port (default 8080; 0 picks a free one)
  --backend NAME       ${BACKEND_CHOICES.join(", ")} (default auto)
  --threads N          worker threads for the backend (default: the machine's cores)
  ${DTYPE_HELP}
  --max-body-bytes N   larger request bodies get 413 (default ${DEFAULT_MAX_BODY_BYTES})

Example:
  distilbert serve --task fill-mask --port 8080
  curl -s localhost:8080 -d '{"inputs": "The [MASK] shall be vested in a President."}'`;

function port(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535 || value.trim() === "") {
    throw new UserError(`--port must be a whole number from 0 to 65535, got '${value}'`);
  }
  return number;
}

export const serve: Command = {
  summary: 'serve pipelines over HTTP (POST /TASK {"inputs": ...}), like HF\'s Inference API',
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
        "max-body-bytes": { type: "string" },
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
    const maxBodyBytes = positiveInt("max-body-bytes", values["max-body-bytes"]) ?? undefined;
    const threads = positiveInt("threads", values.threads) ?? undefined;
    const backend = await createBackend(backendChoice(values.backend), { threads });
    const pipelines: Record<string, Pipeline> = {};
    for (const task of tasks) {
      pipelines[task] = await pipeline(task as Task, values.model, {
        backend,
        revision: values.revision,
        dtype: dtypeChoice(values.dtype),
      });
    }
    const server = createServer({ pipelines, maxBodyBytes });
    const address = await listen(server, values.host, listenPort);
    const routes = tasks.length === 1 ? `POST / or /${tasks[0]}` : "POST /TASK";
    process.stderr.write(
      `distilbert serve: ${tasks.join(", ")} on http://${address} (${routes}, GET /health); ${backend.name} backend, ${backend.threads} threads; Ctrl-C stops\n`,
    );
    await untilSignalled(server);
    return 0;
  },
};

function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(new UserError(`port ${port} on ${host} is in use: pick another with --port`));
      } else {
        reject(error);
      }
    });
    server.listen(port, host, () => {
      const address = server.address();
      if (address === null || typeof address === "string") return resolve(String(address));
      const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
      resolve(`${shownHost}:${address.port}`);
    });
  });
}

/**
 * Resolves once SIGINT or SIGTERM has closed the server, after the requests in progress are
 * answered. A second signal stops at once (the handlers are gone by then).
 */
function untilSignalled(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      process.stderr.write(`distilbert serve: ${signal}, finishing the requests in progress\n`);
      server.close(() => resolve());
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
