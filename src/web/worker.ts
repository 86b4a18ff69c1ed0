// The web page's worker: every model is loaded, run, trained and zipped here, never on the page's
// main thread. Jobs run one at a time, in the order the page sent them; a training job checks the
// page's cancel flag at every step.

import { zipSync } from "fflate";
import { createBackend } from "../browser.js";
import { UserError } from "../errors.js";
import { createModel } from "../models/create.js";
import { checkpointTensors, modelFolderFiles, savedConfig } from "../models/folder-format.js";
import type { StepInfo } from "../train/reporter.js";
import { type FolderFiles, ModelStore } from "./model-store.js";
import type { Reply, Request, RunTask, Start } from "./protocol.js";
import { distil, fineTune, type JobEvents } from "./training.js";

const scope = globalThis as unknown as {
  onmessage: ((event: { data: Start | Request }) => void) | null;
  postMessage(message: Reply, transfer?: Transferable[]): void;
};

function post(message: Reply, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

/** Thrown out of the training loop when the page asks to cancel. */
class Cancelled extends Error {
  constructor(readonly step: number) {
    super(`cancelled at step ${step}`);
  }
}

let store: ModelStore;
let cancelFlag: Int32Array | null = null;

async function start(message: Start): Promise<void> {
  cancelFlag = message.cancel;
  const backend = await createBackend("auto");
  store = new ModelStore(backend, (progress) =>
    post({
      type: "download-progress",
      file: progress.url,
      loaded: progress.loaded,
      total: progress.total,
    }),
  );
  await store.addServed(message.manifest);
  post({
    type: "ready",
    models: store.list(),
    backend: backend.name,
    threads: backend.threads,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
  });
}

async function run(task: RunTask, model: string, text: string, context: string) {
  switch (task) {
    case "fill-mask":
      return (await store.pipeline(task, model))(text, { top_k: 5 });
    case "text-classification":
      return (await store.pipeline(task, model))(text, { top_k: null });
    case "token-classification":
      return (await store.pipeline(task, model))(text, { aggregation_strategy: "simple" });
    case "question-answering":
      return (await store.pipeline(task, model))({ question: text, context });
    case "feature-extraction": {
      const lines = text.split("\n").filter((line) => line.trim() !== "");
      if (lines.length === 0) throw new UserError("give one or more sentences, one a line");
      const embed = await store.pipeline(task, model);
      const vectors = (await embed(lines, { pooling: "mean", normalize: true })) as number[][];
      return { sentences: lines, similarity: cosineMatrix(vectors) };
    }
  }
}

function cosineMatrix(vectors: number[][]): number[][] {
  return vectors.map((a) => vectors.map((b) => a.reduce((sum, x, i) => sum + x * b[i], 0)));
}

function jobEvents(id: number): JobEvents {
  let lastStep = 0;
  return {
    reporter: {
      start() {},
      step(info: StepInfo) {
        lastStep = info.step;
        post({
          type: "step",
          id,
          step: info.step,
          totalSteps: info.totalSteps,
          loss: info.loss,
          parts: info.parts,
          examplesPerSecond: info.examplesPerSecond,
        });
        if (cancelFlag && Atomics.exchange(cancelFlag, 0, 0) === 1) throw new Cancelled(lastStep);
      },
      message(text) {
        post({ type: "log", id, text });
      },
      stop() {},
    },
    evaluation(step, metrics) {
      post({ type: "evaluation", id, step, metrics });
    },
  };
}

/** A trained model's folder as a zip; with int8, quantized first (as `distilbert quantize`). */
async function download(id: number, model: string, dtype: "float32" | "int8"): Promise<void> {
  let folder: FolderFiles = store.folder(model);
  if (dtype === "int8") {
    const loaded = await store.load(model);
    const quantized = createModel(loaded.config, loaded.checkpoint, store.backend, {
      sourceName: store.info(model).name,
      dtype: "int8",
    });
    folder = {
      ...folder,
      ...modelFolderFiles(savedConfig(quantized, loaded.config), checkpointTensors(quantized)),
    };
    quantized.dispose();
  }
  const entries = Object.fromEntries(
    Object.entries(folder).map(([name, contents]) => [
      name,
      typeof contents === "string" ? new TextEncoder().encode(contents) : contents,
    ]),
  );
  const zip = zipSync(entries, { level: 0 });
  const name = store.info(model).name.replace(/[^\w.-]+/g, "-");
  post({ type: "files", id, name: `${name}${dtype === "int8" ? "-int8" : ""}.zip`, zip }, [
    zip.buffer,
  ]);
}

async function handle(request: Request): Promise<void> {
  const { id } = request;
  const started = performance.now();
  try {
    switch (request.type) {
      case "run": {
        const output = await run(request.task, request.model, request.text, request.context);
        post({ type: "result", id, task: request.task, output });
        return;
      }
      case "fine-tune":
      case "distil": {
        cancelFlag?.fill(0);
        const events = jobEvents(id);
        const trained =
          request.type === "fine-tune"
            ? await fineTune(
                store,
                request.model,
                request.file,
                { text: request.textField, label: request.labelField },
                request.settings,
                events,
              )
            : await distil(store, request.teacher, request.file, request.settings, events);
        const seconds = (performance.now() - started) / 1000;
        post({ type: "trained", id, ...trained, seconds });
        return;
      }
      case "download":
        await download(id, request.model, request.dtype);
        return;
      case "add-folder":
        post({ type: "added", id, model: store.addOpened(request.name, request.files) });
        return;
    }
  } catch (error) {
    if (error instanceof Cancelled) {
      post({ type: "cancelled", id, step: error.step });
    } else {
      const shown = error instanceof UserError ? error.message : String((error as Error).stack);
      post({ type: "error", id, message: shown });
    }
  }
}

// One job at a time, in order: a job's awaits must not let the next one start beside it.
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event) => {
  const message = event.data;
  if (message.type === "start") {
    queue = queue.then(() =>
      start(message).catch((error: Error) =>
        post({ type: "error", id: null, message: error.message }),
      ),
    );
  } else {
    queue = queue.then(() => handle(message));
  }
};
