// `distilbert queue worker|run`: batch inference over many machines on BullMQ and Redis.

import { parseArgs } from "node:util";
import { UserError } from "../../errors.js";
import { DEFAULT_QUEUE } from "../../queue/jobs.js";
import { runQueued } from "../../queue/run.js";
import { runWorker } from "../../queue/worker.js";
import { BACKEND_CHOICES } from "../../tensor/index.js";
import type { Command } from "../commands.js";
import { countProgress } from "../count-progress.js";
import { backendChoice, checkOutFile, dtypeChoice, positiveInt, required } from "../options.js";
import { parseOptions } from "../predict-function.js";
import { nextSignal } from "../signals.js";

const help = `distilbert queue worker --redis URL [--queue NAME] [--concurrency N] [--backend NAME]
                        [--dtype int8] [--lock-ms MS]
distilbert queue run --redis URL [--queue NAME] --task TASK [--model DIR_OR_ID] [--options JSON]
                     --input IN.jsonl --output OUT.jsonl [--chunk N]

Batch inference spread over any number of machines, on a BullMQ job queue in Redis.

\`queue run\` splits IN (one input a line: JSON or plain text, as \`distilbert predict\` reads its
stdin) into jobs of --chunk lines, waits for the workers with a progress bar, and writes OUT with
exactly one line per input line, in input order: what \`distilbert predict\` would print, a
line that fails being {"error": "...", "line": N}. OUT is written at the end, atomically (a
temporary file, then a rename). Run again after a crash (the same arguments and input), it
resumes: chunks already answered are taken from Redis, not computed again. The exit status is 1
if any line failed, or if a job failed (a model that does not exist on the workers: the message
says so).

\`queue worker\` takes jobs and runs them in worker threads (so the model never holds up the
renewal of BullMQ's job locks), loading each model once and keeping it for the next jobs. Models
are resolved on the worker's machine: a folder that exists there, or a Hugging Face Hub id
through its Hub cache. SIGTERM or Ctrl-C finishes the jobs in hand, then exits; a worker killed
outright loses nothing: its jobs' locks expire and another worker takes them.

Options:
  --redis URL         the Redis server, e.g. redis://127.0.0.1:6379 (required)
  --queue NAME        the queue's name; default ${DEFAULT_QUEUE}
  --task TASK         run: the pipeline, as for \`distilbert predict\`
  --model DIR_OR_ID   run: the model (default: the task's shipped model)
  --options JSON      run: the pipeline's options, as for \`distilbert predict\`
  --input FILE        run: the inputs, one a line
  --output FILE       run: where the outputs go
  --chunk N           run: input lines per job; default 100
  --concurrency N     worker: jobs at once, each in its own thread; default 1
  --backend NAME      worker: ${BACKEND_CHOICES.join(", ")} (default auto)
  --dtype int8        worker: quantize float models to int8 as they load (results then equal
                      \`distilbert predict --dtype int8\`)
  --lock-ms MS        worker: a job's lock; a dead worker's job goes to another after about
                      this long (the locks are renewed every half of it); default 10000

Example, on one machine or many against one Redis:
  distilbert queue worker --redis redis://queue-host:6379 &       # on each machine
  distilbert queue run --redis redis://queue-host:6379 --task sentiment-analysis \\
    --model ./my-sst2 --input reviews.jsonl --output labels.jsonl`;

const OPTIONS = {
  redis: { type: "string" },
  queue: { type: "string" },
  task: { type: "string" },
  model: { type: "string" },
  options: { type: "string" },
  input: { type: "string" },
  output: { type: "string" },
  chunk: { type: "string" },
  concurrency: { type: "string" },
  backend: { type: "string" },
  dtype: { type: "string" },
  "lock-ms": { type: "string" },
} as const;

const log = (line: string) => process.stderr.write(`distilbert queue: ${line}\n`);

export const queue: Command = {
  summary: "batch inference over many machines: BullMQ workers and runs on Redis",
  help,
  async run(args) {
    const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true });
    const [mode, ...extra] = positionals;
    if (extra.length > 0 || (mode !== "worker" && mode !== "run")) {
      throw new UserError("queue takes worker or run: distilbert queue worker|run --help");
    }
    const redis = required(`queue ${mode}`, "redis", values.redis);
    const queueName = values.queue ?? DEFAULT_QUEUE;
    if (mode === "worker") {
      await runWorker(
        {
          redis,
          queue: queueName,
          concurrency: positiveInt("concurrency", values.concurrency) ?? 1,
          backend: backendChoice(values.backend),
          dtype: dtypeChoice(values.dtype),
          lockMs: positiveInt("lock-ms", values["lock-ms"]) ?? 10_000,
          log,
        },
        nextSignal(),
      );
      return 0;
    }
    const input = required("queue run", "input", values.input);
    const output = required("queue run", "output", values.output);
    checkOutFile("output", output, [input]);
    const summary = await runQueued({
      redis,
      queue: queueName,
      task: required("queue run", "task", values.task),
      model: values.model ?? null,
      options: parseOptions(values.options),
      input,
      output,
      chunk: positiveInt("chunk", values.chunk) ?? 100,
      progress: countProgress("lines answered"),
      log,
    });
    log(
      `${summary.lines} lines in ${summary.chunks} jobs written to ${values.output}${summary.failedLines > 0 ? `; ${summary.failedLines} failed (their lines say why)` : ""}`,
    );
    return summary.failedLines > 0 ? 1 : 0;
  },
};
