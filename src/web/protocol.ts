// The messages between the web page (app.ts, the main thread) and its worker (worker.ts, where
// every model is loaded, run and trained, so the page never waits on one).

import type { HeadKind } from "../models/types.js";

/** The tasks the page's Run section offers. */
export const RUN_TASKS = [
  "fill-mask",
  "text-classification",
  "token-classification",
  "question-answering",
  "feature-extraction",
] as const;

export type RunTask = (typeof RUN_TASKS)[number];

/** A model the page can use: one the server lists, or one trained in this page. */
export interface ModelInfo {
  id: string;
  name: string;
  head: HeadKind;
  architecture: string;
  layers: number;
  hiddenSize: number;
  /** The classifier's labels, in id order; empty for other heads. */
  labels: string[];
}

/** A text file the user chose. */
export interface TextFile {
  name: string;
  text: string;
}

export interface FineTuneSettings {
  epochs: number;
  batchSize: number;
  lr: number;
  maxLength: number;
}

export interface DistilSettings {
  layers: number;
  steps: number;
  batchSize: number;
  seqLen: number;
  lr: number;
}

export type Request =
  | { type: "run"; id: number; task: RunTask; model: string; text: string; context: string }
  | {
      type: "fine-tune";
      id: number;
      model: string;
      file: TextFile;
      textField: string;
      labelField: string;
      settings: FineTuneSettings;
    }
  | { type: "distil"; id: number; teacher: string; file: TextFile; settings: DistilSettings }
  | { type: "download"; id: number; model: string; dtype: "float32" | "int8" }
  /** A model folder the user opened from their disk. */
  | { type: "add-folder"; id: number; name: string; files: Record<string, Uint8Array> };

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/** A request as the page writes it; the client numbers it. */
export type NewRequest = WithoutId<Request>;

/** The first message to the worker: where the models are, and the flag that cancels a job. */
export interface Start {
  type: "start";
  /** The server's list of models (models.json). */
  manifest: string;
  /** Int32Array over a SharedArrayBuffer: the page stores 1 to cancel the running job. */
  cancel: Int32Array | null;
}

export interface StepMessage {
  type: "step";
  id: number;
  step: number;
  totalSteps: number;
  loss: number;
  parts: Record<string, number>;
  examplesPerSecond: number;
}

export type Reply =
  | {
      type: "ready";
      models: ModelInfo[];
      backend: string;
      threads: number;
      crossOriginIsolated: boolean;
    }
  | { type: "download-progress"; file: string; loaded: number; total: number | null }
  | { type: "result"; id: number; task: RunTask; output: unknown }
  | StepMessage
  | { type: "evaluation"; id: number; step: number; metrics: Record<string, number> }
  | { type: "log"; id: number; text: string }
  | {
      type: "trained";
      id: number;
      model: ModelInfo;
      seconds: number;
      /** The comparison table (distillation): a header row, then one row per measure. */
      comparison: string[][] | null;
    }
  | { type: "files"; id: number; name: string; zip: Uint8Array }
  | { type: "added"; id: number; model: ModelInfo }
  | { type: "cancelled"; id: number; step: number }
  | { type: "error"; id: number | null; message: string };
