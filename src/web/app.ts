// The web page's main thread: the DOM, the charts and the worker's messages. All model work is
// in the worker (worker.ts); this thread only sends requests and draws replies, so the page
// stays responsive while a model trains.

import uPlot from "uplot";
import { decodeUtf8 } from "../io/utf8.js";
import type { Answer } from "../pipelines/answer-spans.js";
import type { LabelScore } from "../pipelines/classification.js";
import type { EntityGroup } from "../pipelines/entities.js";
import type { FillMaskPrediction } from "../pipelines/fill-mask.js";
import { parseDataText } from "../train/data-format.js";
import {
  type ModelInfo,
  type NewRequest,
  type Reply,
  type Request,
  RUN_TASKS,
  type RunTask,
  type Start,
  type StepMessage,
} from "./protocol.js";

const EXAMPLES: Record<RunTask, { text: string; context?: string }> = {
  "fill-mask": { text: "The [MASK] of the union is strong." },
  "text-classification": {
    text: "Congratulations! You have won a free cruise. Call now to claim.",
  },
  "token-classification": { text: "My name is Clara and I live in Berkeley, California." },
  "question-answering": {
    text: "Where do I live?",
    context: "My name is Wolfgang and I live in Berlin.",
  },
  "feature-extraction": {
    text: "The economy is growing.\nJobs are being created.\nThe army needs new ships.",
  },
};

/** The head each task needs ("base": any model). */
const TASK_HEADS: Record<RunTask, string> = {
  "fill-mask": "masked-lm",
  "text-classification": "sequence-classification",
  "token-classification": "token-classification",
  "question-answering": "question-answering",
  "feature-extraction": "base",
};

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

function make<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  children: (Node | string)[] = [],
): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

// ---- the worker ----

type Handler = (reply: Reply, id: number) => void;

class WorkerClient {
  private worker!: Worker;
  private nextId = 1;
  private readonly handlers = new Map<number, Handler>();
  /** Shared with the worker: storing 1 cancels its running job (needs cross-origin isolation). */
  readonly cancelFlag = globalThis.crossOriginIsolated
    ? new Int32Array(new SharedArrayBuffer(4))
    : null;

  constructor(private readonly onGlobal: Handler) {
    this.spawn();
  }

  private spawn(): void {
    this.worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    this.worker.onmessage = (event: MessageEvent<Reply>) => {
      const reply = event.data;
      const id = "id" in reply ? reply.id : null;
      const handler = id === null ? undefined : this.handlers.get(id);
      if (handler) handler(reply, id as number);
      else this.onGlobal(reply, 0);
    };
    this.worker.onerror = (event) => {
      this.onGlobal({ type: "error", id: null, message: event.message || "the worker failed" }, 0);
    };
    const start: Start = {
      type: "start",
      manifest: new URL("models.json", location.href).href,
      cancel: this.cancelFlag,
    };
    this.worker.postMessage(start);
  }

  /** Sends a request; `handler` gets every reply to it. */
  send(request: NewRequest, handler: Handler): number {
    const id = this.nextId++;
    this.handlers.set(id, handler);
    this.worker.postMessage({ ...request, id } as Request);
    return id;
  }

  done(id: number): void {
    this.handlers.delete(id);
  }

  /** Cancels the running job: by the shared flag, or (without one) by restarting the worker. */
  cancel(id: number): void {
    if (this.cancelFlag) {
      Atomics.store(this.cancelFlag, 0, 1);
      return;
    }
    this.worker.terminate();
    this.handlers.get(id)?.({ type: "cancelled", id, step: 0 }, id);
    this.handlers.clear();
    this.spawn();
  }
}

// ---- models ----

let models: ModelInfo[] = [];

function fillModelSelect(select: HTMLSelectElement, accepts: (model: ModelInfo) => boolean) {
  const previous = select.value;
  select.replaceChildren(
    ...models
      .filter(accepts)
      .map((model) =>
        make("option", { value: model.id, textContent: `${model.name} (${model.layers} layers)` }),
      ),
  );
  if (select.options.length === 0) {
    select.append(make("option", { value: "", textContent: "no model for this task here" }));
  }
  if (Array.from(select.options).some((option) => option.value === previous)) {
    select.value = previous;
  } else {
    // A pretrained (masked-LM) model first: the teacher, to fine-tune and to distil.
    const teacher = models.find((model) => accepts(model) && model.head === "masked-lm");
    if (teacher) select.value = teacher.id;
  }
}

function forTask(task: RunTask) {
  return (model: ModelInfo) => TASK_HEADS[task] === "base" || model.head === TASK_HEADS[task];
}

function refreshModelSelects(): void {
  fillModelSelect(
    element("run-model"),
    forTask(element<HTMLSelectElement>("task").value as RunTask),
  );
  fillModelSelect(element("train-model"), () => true);
  fillModelSelect(element("distil-model"), (model) => model.head === "masked-lm");
}

// ---- drawing results ----

function bars(rows: { label: string; score: number; note?: string }[]): HTMLElement {
  const list = make("div", { className: "bars" });
  for (const row of rows) {
    const bar = make("div", { className: "bar" });
    bar.style.width = `${Math.max(0.5, 100 * row.score)}%`;
    const line = make("div", { className: "bar-row" }, [
      make("span", { className: "label", textContent: row.label, title: row.label }),
      make("div", {}, [bar]),
      make("span", { className: "score", textContent: row.score.toFixed(3) }),
    ]);
    // The exact score, for scripts reading the page.
    line.dataset.score = String(row.score);
    list.append(line);
    if (row.note) list.append(make("div", { className: "sequence", textContent: row.note }));
  }
  return list;
}

/** `text` with the spans marked, each with its tag. */
function marked(text: string, spans: { start: number; end: number; tag: string }[]): HTMLElement {
  const out = make("div", { className: "marked" });
  let at = 0;
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    if (span.start < at) continue;
    out.append(text.slice(at, span.start));
    out.append(
      make("mark", {}, [text.slice(span.start, span.end), make("sup", { textContent: span.tag })]),
    );
    at = span.end;
  }
  out.append(text.slice(at));
  return out;
}

function similarityTable(sentences: string[], similarity: number[][]): HTMLElement {
  const table = make("table");
  const short = (s: string) => (s.length > 24 ? `${s.slice(0, 23)}…` : s);
  table.append(
    make("tr", {}, [make("th"), ...sentences.map((s) => make("th", { textContent: short(s) }))]),
  );
  similarity.forEach((row, i) => {
    const cells = row.map((value) => {
      const cell = make("td", { textContent: value.toFixed(3) });
      cell.style.background = `rgba(47, 111, 222, ${Math.max(0, value) * 0.6})`;
      return cell;
    });
    table.append(make("tr", {}, [make("th", { textContent: short(sentences[i]) }), ...cells]));
  });
  return table;
}

function drawOutput(task: RunTask, output: unknown, text: string, context: string): Node {
  switch (task) {
    case "fill-mask":
      return bars(
        (output as FillMaskPrediction[]).map((p) => ({
          label: p.token_str,
          score: p.score,
          note: p.sequence,
        })),
      );
    case "text-classification":
      return bars((output as LabelScore[]).map((p) => ({ label: p.label, score: p.score })));
    case "token-classification": {
      const groups = output as EntityGroup[];
      if (groups.length === 0) return make("p", { textContent: "no entities found" });
      return marked(
        text,
        groups.map((g) => ({ start: g.start ?? 0, end: g.end ?? 0, tag: g.entity_group })),
      );
    }
    case "question-answering": {
      const answer = output as Answer;
      return make("div", {}, [
        make("p", { textContent: `answer: ${answer.answer} (score ${answer.score.toFixed(3)})` }),
        marked(context, [{ start: answer.start, end: answer.end, tag: "answer" }]),
      ]);
    }
    case "feature-extraction": {
      const { sentences, similarity } = output as { sentences: string[]; similarity: number[][] };
      return make("div", {}, [
        make("p", { textContent: "cosine similarity of the mean-pooled embeddings" }),
        similarityTable(sentences, similarity),
      ]);
    }
  }
}

// ---- training panels (fine-tune and distil share one) ----

interface Panel {
  prefix: "train" | "distil";
  chart: uPlot | null;
  steps: number[];
  losses: number[];
  job: number | null;
  trained: ModelInfo | null;
}

function setStatus(panel: Panel, state: string, text: string, step?: StepMessage): void {
  const status = element(`${panel.prefix}-status`);
  status.dataset.state = state;
  status.textContent = text;
  if (step) {
    status.dataset.step = String(step.step);
    status.dataset.loss = String(step.loss);
    if (status.dataset.lossFirst === undefined) status.dataset.lossFirst = String(step.loss);
  }
}

function drawChart(panel: Panel): void {
  const host = element(panel.prefix === "train" ? "loss-chart" : "distil-chart");
  const data: uPlot.AlignedData = [panel.steps, panel.losses];
  if (!panel.chart) {
    host.replaceChildren();
    panel.chart = new uPlot(
      {
        width: Math.max(300, host.clientWidth || 360),
        height: 180,
        scales: { x: { time: false } },
        axes: [{ label: "step" }, { label: "loss" }],
        series: [{ label: "step" }, { label: "loss", stroke: "#2f6fde", width: 2 }],
        legend: { show: false },
      },
      data,
      host,
    );
  } else {
    panel.chart.setData(data);
  }
}

function log(panel: Panel, text: string): void {
  const box = element(`${panel.prefix}-log`);
  box.textContent += `${text}\n`;
  box.scrollTop = box.scrollHeight;
}

function setBusy(panel: Panel, busy: boolean): void {
  element<HTMLButtonElement>(panel.prefix).disabled = busy;
  element<HTMLButtonElement>(`${panel.prefix}-cancel`).disabled = !busy;
}

function startJob(client: WorkerClient, panel: Panel, request: NewRequest): void {
  panel.steps = [];
  panel.losses = [];
  panel.chart?.destroy();
  panel.chart = null;
  element(`${panel.prefix}-log`).textContent = "";
  element(`${panel.prefix}-eval`).textContent = "";
  const status = element(`${panel.prefix}-status`);
  delete status.dataset.step;
  delete status.dataset.loss;
  delete status.dataset.lossFirst;
  setStatus(panel, "running", "loading the model and the data…");
  setBusy(panel, true);
  let frame = 0;
  panel.job = client.send(request, (reply, id) => {
    switch (reply.type) {
      case "step": {
        panel.steps.push(reply.step);
        panel.losses.push(reply.loss);
        const parts = Object.entries(reply.parts)
          .map(([name, value]) => `${name} ${value.toFixed(3)}`)
          .join(", ");
        setStatus(
          panel,
          "running",
          `step ${reply.step} of ${reply.totalSteps}: loss ${reply.loss.toFixed(4)}${parts ? ` (${parts})` : ""}, ${reply.examplesPerSecond.toFixed(1)} examples/s`,
          reply,
        );
        if (!frame) {
          frame = requestAnimationFrame(() => {
            frame = 0;
            drawChart(panel);
          });
        }
        return;
      }
      case "evaluation": {
        // The loop's own log line has every metric; this is the one people watch.
        const evaluation = element(`${panel.prefix}-eval`);
        const { accuracy, loss } = reply.metrics;
        evaluation.textContent = `held-out ${accuracy === undefined ? `loss ${loss.toFixed(4)}` : `accuracy ${(100 * accuracy).toFixed(1)}%`} at step ${reply.step}`;
        evaluation.dataset.accuracy = String(accuracy);
        return;
      }
      case "log":
        log(panel, reply.text);
        return;
      case "trained": {
        client.done(id);
        drawChart(panel);
        panel.trained = reply.model;
        models.push(reply.model);
        refreshModelSelects();
        setBusy(panel, false);
        element<HTMLButtonElement>(`${panel.prefix}-download`).disabled = false;
        element<HTMLButtonElement>(`${panel.prefix}-download-int8`).disabled = false;
        if (reply.comparison) {
          element("compare").replaceChildren(comparisonTable(reply.comparison));
          element("compare-section").hidden = false;
        }
        const status = element(`${panel.prefix}-status`);
        setStatus(
          panel,
          "done",
          `done in ${reply.seconds.toFixed(1)} s: loss ${Number(status.dataset.lossFirst).toFixed(4)} → ${Number(status.dataset.loss).toFixed(4)}. ${reply.model.name} is now in Run's model list.`,
        );
        if (panel.prefix === "train") useInRun(reply.model, "text-classification");
        return;
      }
      case "cancelled":
        client.done(id);
        setBusy(panel, false);
        setStatus(panel, "idle", `cancelled at step ${reply.step}`);
        return;
      case "error":
        client.done(id);
        setBusy(panel, false);
        setStatus(panel, "error", reply.message);
        return;
    }
  });
}

function comparisonTable(cells: string[][]): HTMLElement {
  const [header, ...rows] = cells;
  return make("table", {}, [
    make(
      "tr",
      {},
      header.map((text) => make("th", { textContent: text })),
    ),
    ...rows.map((row) =>
      make(
        "tr",
        {},
        row.map((text) => make("td", { textContent: text })),
      ),
    ),
  ]);
}

function useInRun(model: ModelInfo, task: RunTask): void {
  const taskSelect = element<HTMLSelectElement>("task");
  taskSelect.value = task;
  taskSelect.dispatchEvent(new Event("change"));
  element<HTMLSelectElement>("run-model").value = model.id;
}

function download(client: WorkerClient, panel: Panel, dtype: "float32" | "int8"): void {
  if (!panel.trained) return;
  const button = element<HTMLButtonElement>(
    `${panel.prefix}-download${dtype === "int8" ? "-int8" : ""}`,
  );
  button.disabled = true;
  client.send({ type: "download", model: panel.trained.id, dtype }, (reply, id) => {
    client.done(id);
    button.disabled = false;
    if (reply.type === "files") {
      const url = URL.createObjectURL(new Blob([reply.zip as Uint8Array<ArrayBuffer>]));
      const link = make("a", { href: url, download: reply.name });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } else if (reply.type === "error") {
      setStatus(panel, "error", reply.message);
    }
  });
}

// ---- files ----

/** The file chosen in `input`, or else the sample the link points at. */
async function readChosen(input: HTMLInputElement, sample: HTMLAnchorElement) {
  const file = input.files?.[0];
  if (file) {
    return {
      name: file.name,
      text: decodeUtf8(new Uint8Array(await file.arrayBuffer()), file.name),
    };
  }
  const response = await fetch(sample.href);
  if (!response.ok) throw new Error(`cannot fetch ${sample.href}: HTTP ${response.status}`);
  return {
    name: new URL(sample.href).pathname.split("/").pop() ?? "sample",
    text: await response.text(),
  };
}

/** The field names of a data file's first rows, to choose the text and the label from. */
function fieldNames(name: string, text: string): string[] {
  const head = text.split("\n").slice(0, 20).join("\n");
  try {
    const rows = parseDataText(head, name);
    return rows.length > 0 ? Object.keys(rows[0].fields) : [];
  } catch {
    return [];
  }
}

function fillFields(names: string[]): void {
  const fill = (id: string, preferred: string, fallback: number) => {
    const select = element<HTMLSelectElement>(id);
    select.replaceChildren(...names.map((n) => make("option", { value: n, textContent: n })));
    select.value = names.includes(preferred) ? preferred : (names.at(fallback) ?? "");
  };
  fill("text-field", "text", 0);
  fill("label-field", "label", -1);
}

// ---- wiring ----

function numberIn(id: string): number {
  const value = Number(element<HTMLInputElement>(id).value);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`#${id} must be a positive number`);
  return value;
}

function main(): void {
  const status = element("status");
  const bar = element<HTMLProgressElement>("download-bar");
  const runButton = element<HTMLButtonElement>("run");
  const taskSelect = element<HTMLSelectElement>("task");
  const input = element<HTMLTextAreaElement>("input");
  const context = element<HTMLTextAreaElement>("context");
  const output = element("output");
  const trainPanel: Panel = {
    prefix: "train",
    chart: null,
    steps: [],
    losses: [],
    job: null,
    trained: null,
  };
  const distilPanel: Panel = {
    prefix: "distil",
    chart: null,
    steps: [],
    losses: [],
    job: null,
    trained: null,
  };

  const client = new WorkerClient((reply) => {
    switch (reply.type) {
      case "ready":
        models = reply.models;
        refreshModelSelects();
        status.textContent = `${reply.backend} backend, ${reply.threads} threads${reply.crossOriginIsolated ? "" : " (not cross-origin isolated: serve the page with COOP/COEP headers for threads)"}; ${models.length} models`;
        for (const id of ["run", "train", "distil"])
          element<HTMLButtonElement>(id).disabled = false;
        return;
      case "download-progress":
        bar.hidden = reply.total !== null && reply.loaded >= reply.total;
        if (reply.total) {
          bar.max = reply.total;
          bar.value = reply.loaded;
        }
        return;
      case "error":
        status.textContent = `error: ${reply.message}`;
        return;
    }
  });

  // A task's example fills the input only where the user has not written their own.
  let shown = { text: "", context: "" };
  const showExample = () => {
    const task = taskSelect.value as RunTask;
    if (input.value === "" || input.value === shown.text) input.value = EXAMPLES[task].text;
    if (context.value === "" || context.value === shown.context) {
      context.value = EXAMPLES[task].context ?? "";
    }
    shown = { text: EXAMPLES[task].text, context: EXAMPLES[task].context ?? "" };
    context.hidden = task !== "question-answering";
    fillModelSelect(element("run-model"), forTask(task));
    output.replaceChildren();
    if (element<HTMLSelectElement>("run-model").value === "" && models.length > 0) {
      output.append(
        make("p", {
          textContent: `No model here has a ${TASK_HEADS[task]} head: open a model folder fine-tuned for ${task}, or serve one with distilbert web --model DIR.`,
        }),
      );
    }
  };
  taskSelect.addEventListener("change", showExample);
  showExample();

  const folderInput = element<HTMLInputElement>("model-folder");
  folderInput.addEventListener("change", async () => {
    const chosen = Array.from(folderInput.files ?? []);
    if (chosen.length === 0) return;
    const name = chosen[0].webkitRelativePath.split("/")[0] || "opened folder";
    const files: Record<string, Uint8Array> = {};
    // The folder's own files (not those of its subfolders, such as checkpoints).
    for (const file of chosen) {
      if (file.webkitRelativePath.split("/").length <= 2) {
        files[file.name] = new Uint8Array(await file.arrayBuffer());
      }
    }
    client.send({ type: "add-folder", name, files }, (reply, id) => {
      client.done(id);
      if (reply.type === "added") {
        models.push(reply.model);
        refreshModelSelects();
        const task =
          RUN_TASKS.find((t) => TASK_HEADS[t] === reply.model.head) ?? "feature-extraction";
        useInRun(reply.model, task);
      } else if (reply.type === "error") {
        output.replaceChildren(make("p", { className: "error", textContent: reply.message }));
      }
    });
  });

  runButton.addEventListener("click", () => {
    const task = taskSelect.value as RunTask;
    const model = element<HTMLSelectElement>("run-model").value;
    if (model === "") return;
    const text = input.value;
    const contextText = context.value;
    output.dataset.state = "running";
    output.replaceChildren(make("p", { textContent: "running…" }));
    runButton.disabled = true;
    client.send({ type: "run", task, model, text, context: contextText }, (reply, id) => {
      client.done(id);
      runButton.disabled = false;
      if (reply.type === "result") {
        output.dataset.task = task;
        output.dataset.model = model;
        output.dataset.state = "done";
        output.replaceChildren(drawOutput(task, reply.output, text, contextText));
      } else if (reply.type === "error") {
        output.dataset.state = "error";
        output.replaceChildren(make("p", { className: "error", textContent: reply.message }));
      }
    });
  });

  const trainFile = element<HTMLInputElement>("train-file");
  trainFile.addEventListener("change", async () => {
    const file = trainFile.files?.[0];
    if (file) fillFields(fieldNames(file.name, await file.slice(0, 65536).text()));
  });
  const trainSample = element<HTMLAnchorElement>("train-sample");
  trainSample.addEventListener("click", async (event) => {
    event.preventDefault();
    trainFile.value = "";
    const chosen = await readChosen(trainFile, trainSample);
    fillFields(fieldNames(chosen.name, chosen.text));
    setStatus(trainPanel, "idle", "the sample is chosen");
  });

  element("train").addEventListener("click", async () => {
    try {
      const file = await readChosen(trainFile, trainSample);
      const names = fieldNames(file.name, file.text);
      if (element<HTMLSelectElement>("text-field").options.length === 0) fillFields(names);
      startJob(client, trainPanel, {
        type: "fine-tune",
        model: element<HTMLSelectElement>("train-model").value,
        file,
        textField: element<HTMLSelectElement>("text-field").value,
        labelField: element<HTMLSelectElement>("label-field").value,
        settings: {
          epochs: numberIn("epochs"),
          batchSize: numberIn("batch-size"),
          lr: numberIn("lr"),
          maxLength: numberIn("max-length"),
        },
      });
    } catch (error) {
      setStatus(trainPanel, "error", (error as Error).message);
    }
  });

  const distilFile = element<HTMLInputElement>("distil-file");
  const distilSample = element<HTMLAnchorElement>("distil-sample");
  distilSample.addEventListener("click", (event) => {
    event.preventDefault();
    distilFile.value = "";
    setStatus(distilPanel, "idle", "the sample is chosen");
  });
  element("distil").addEventListener("click", async () => {
    try {
      const file = await readChosen(distilFile, distilSample);
      startJob(client, distilPanel, {
        type: "distil",
        teacher: element<HTMLSelectElement>("distil-model").value,
        file,
        settings: {
          layers: numberIn("layers"),
          steps: numberIn("steps"),
          batchSize: numberIn("distil-batch-size"),
          seqLen: numberIn("seq-len"),
          lr: 5e-4,
        },
      });
    } catch (error) {
      setStatus(distilPanel, "error", (error as Error).message);
    }
  });

  for (const panel of [trainPanel, distilPanel]) {
    element(`${panel.prefix}-cancel`).addEventListener("click", () => {
      if (panel.job !== null) client.cancel(panel.job);
    });
    element(`${panel.prefix}-download`).addEventListener("click", () =>
      download(client, panel, "float32"),
    );
    element(`${panel.prefix}-download-int8`).addEventListener("click", () =>
      download(client, panel, "int8"),
    );
  }
}

main();
