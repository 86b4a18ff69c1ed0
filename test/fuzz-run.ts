// `npm run fuzz`: every fuzz target (fuzz-targets.ts) for its share of FUZZ_SECONDS (default 60).
// Prints the inputs each got, then `N inputs, M crashes`; a crash's shrunk input and error are
// written to fuzz-crashes.json. Exit status 1 on any crash.
//
// The targets run on a worker thread so that the two failures a property cannot report itself
// are still caught: the worker's heap is bounded (MEMORY_MB: past it the worker dies, a memory
// crash), and an input that never finishes is seen by this thread's watchdog (HANG_SECONDS
// without a finished input, a hang crash; FUZZ_SEED replays the run).

import { writeFileSync } from "node:fs";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import fc from "fast-check";
import { fuzzTargets } from "./fuzz-targets.js";

const MEMORY_MB = 2048;
const HANG_SECONDS = 30;

interface Crash {
  target: string;
  input: string;
  error: string;
}

type Message =
  | { started: string }
  | { target: string; inputs: number; crash?: Crash }
  | { done: true };

async function fuzzOnWorker(seconds: number, seed: number, inputsDone: Int32Array) {
  const port = parentPort as NonNullable<typeof parentPort>;
  const send = (message: Message) => port.postMessage(message);
  const { targets, close } = await fuzzTargets(inputsDone);
  const share = (seconds * 1000) / targets.length;
  for (const target of targets) {
    send({ started: target.name });
    const details = await fc.check(target.property, {
      numRuns: Number.MAX_SAFE_INTEGER,
      interruptAfterTimeLimit: share,
      seed,
    });
    const crash = details.failed
      ? {
          target: target.name,
          input: fc.stringify(details.counterexample),
          error: String(details.errorInstance),
        }
      : undefined;
    send({ target: target.name, inputs: details.numRuns, crash });
  }
  await close();
  send({ done: true });
}

function fuzzWithWatchdog(
  seconds: number,
  seed: number,
): Promise<{ total: number; crashes: Crash[] }> {
  const inputsDone = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { seconds, seed, inputsDone },
    resourceLimits: { maxOldGenerationSizeMb: MEMORY_MB },
  });
  const crashes: Crash[] = [];
  let total = 0;
  let current = "(loading the targets)";
  let lastCount = 0;
  let lastProgress = Date.now();
  return new Promise((resolve) => {
    const lost = (error: string) => {
      crashes.push({ target: current, input: `FUZZ_SEED=${seed} replays it`, error });
      console.log(`${current}: CRASH (${error})`);
    };
    const watchdog = setInterval(() => {
      const count = Atomics.load(inputsDone, 0);
      if (count !== lastCount) {
        lastCount = count;
        lastProgress = Date.now();
      } else if (Date.now() - lastProgress > HANG_SECONDS * 1000) {
        lost(`hang: no input finished in ${HANG_SECONDS} s`);
        void worker.terminate();
      }
    }, 1000);
    worker.on("message", (message: Message) => {
      if ("started" in message) {
        current = message.started;
        lastProgress = Date.now();
      } else if ("target" in message) {
        total += message.inputs;
        if (message.crash) crashes.push(message.crash);
        console.log(`${message.target}: ${message.inputs} inputs${message.crash ? ", CRASH" : ""}`);
      }
    });
    worker.on("error", (error: Error & { code?: string }) => {
      lost(
        error.code === "ERR_WORKER_OUT_OF_MEMORY" ? `memory past ${MEMORY_MB} MB` : String(error),
      );
    });
    worker.on("exit", () => {
      clearInterval(watchdog);
      resolve({ total, crashes });
    });
  });
}

if (isMainThread) {
  const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  const { total, crashes } = await fuzzWithWatchdog(seconds, seed);
  if (crashes.length > 0) {
    writeFileSync("fuzz-crashes.json", `${JSON.stringify(crashes, null, 2)}\n`);
    console.log("crashes written to fuzz-crashes.json");
  }
  console.log(`${total} inputs, ${crashes.length} crashes`);
  process.exitCode = crashes.length > 0 ? 1 : 0;
} else {
  await fuzzOnWorker(workerData.seconds, workerData.seed, workerData.inputsDone);
}
