// Dynamic batching, as text-embeddings-inference does it: requests wait in one FIFO queue per
// task, and as soon as the model is free the oldest request and the compatible ones behind it
// (same parameters) are run as one batch, bounded by a token budget and a request count. A
// request with more inputs than fit is split across batches. Inputs are sorted by length within
// a batch so the pipeline's padded forward passes hold similar lengths; outputs go back to each
// request in its own order. Requests whose client left are dropped before they run.

import { BatchError } from "./model-worker.js";

export interface BatchLimits {
  /** The sum of the inputs' token counts in one batch (one input always fits). */
  maxBatchTokens: number;
  /** Requests in one batch. */
  maxBatchRequests: number;
}

/** One input of a request: its JSON value, token count, and whether it came alone. */
export interface BatchInput {
  value: unknown;
  tokens: number;
  single: boolean;
}

/** Runs one batch of one task: one output per input, in order. */
export type RunBatch = (
  inputs: unknown[],
  parameters: Record<string, unknown>,
  single: boolean[],
) => Promise<unknown[]>;

export interface BatchObserver {
  /** A batch is about to run. */
  batch(inputs: number, tokens: number, requests: number): void;
  /** The number of inputs waiting changed. */
  queued(inputs: number): void;
}

interface Entry {
  inputs: BatchInput[];
  parameters: Record<string, unknown>;
  key: string;
  signal: AbortSignal;
  /** Inputs handed to batches so far. */
  next: number;
  outputs: unknown[];
  /** Outputs received so far. */
  done: number;
  resolve: (outputs: unknown[]) => void;
  reject: (error: Error) => void;
}

/** A slice of one entry in a batch: its inputs [from, from + count). */
interface Part {
  entry: Entry;
  from: number;
  count: number;
}

export class Batcher {
  private readonly queue: Entry[] = [];
  private running = false;
  private waitingInputs = 0;
  private closed: Error | null = null;

  constructor(
    private readonly runBatch: RunBatch,
    private readonly limits: BatchLimits,
    private readonly observer: BatchObserver,
  ) {}

  /** Queues a request's inputs; resolves with their outputs, rejects when `signal` aborts. */
  submit(
    inputs: BatchInput[],
    parameters: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<unknown[]> {
    if (this.closed) return Promise.reject(this.closed);
    if (inputs.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const entry: Entry = {
        inputs,
        parameters,
        key: JSON.stringify(parameters),
        signal,
        next: 0,
        outputs: new Array(inputs.length),
        done: 0,
        resolve,
        reject,
      };
      signal.addEventListener("abort", () => this.drop(entry), { once: true });
      this.queue.push(entry);
      this.changeWaiting(inputs.length);
      this.pump();
    });
  }

  /** Refuses what is queued with `error` and takes nothing more; a batch running finishes. */
  close(error: Error): void {
    this.closed = error;
    for (const entry of this.queue.splice(0)) entry.reject(error);
    this.changeWaiting(-this.waitingInputs);
  }

  /** Inputs waiting to run. */
  get waiting(): number {
    return this.waitingInputs;
  }

  private drop(entry: Entry): void {
    this.remove(entry);
    entry.reject(entry.signal.reason instanceof Error ? entry.signal.reason : new Error("aborted"));
  }

  /** Takes `entry` out of the queue with the inputs it still had waiting. */
  private remove(entry: Entry): void {
    const at = this.queue.indexOf(entry);
    if (at >= 0) {
      this.queue.splice(at, 1);
      this.changeWaiting(-(entry.inputs.length - entry.next));
    }
    entry.next = entry.inputs.length;
  }

  private changeWaiting(delta: number): void {
    this.waitingInputs += delta;
    this.observer.queued(this.waitingInputs);
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    const parts = this.take();
    this.running = true;
    this.runParts(parts).finally(() => {
      this.running = false;
      this.pump();
    });
  }

  /** The next batch: the oldest request and compatible ones behind it, within the limits. */
  private take(): Part[] {
    const key = this.queue[0].key;
    const parts: Part[] = [];
    let tokens = 0;
    for (const entry of [...this.queue]) {
      if (parts.length >= this.limits.maxBatchRequests) break;
      if (entry.key !== key) continue;
      const from = entry.next;
      let count = 0;
      while (from + count < entry.inputs.length) {
        const cost = entry.inputs[from + count].tokens;
        if (tokens > 0 && tokens + cost > this.limits.maxBatchTokens) break;
        tokens += cost;
        count++;
      }
      if (count === 0) break;
      parts.push({ entry, from, count });
      entry.next += count;
      if (entry.next === entry.inputs.length) this.queue.splice(this.queue.indexOf(entry), 1);
      if (tokens >= this.limits.maxBatchTokens) break;
    }
    const inputs = parts.reduce((sum, part) => sum + part.count, 0);
    this.changeWaiting(-inputs);
    this.observer.batch(inputs, tokens, parts.length);
    return parts;
  }

  private async runParts(parts: Part[]): Promise<void> {
    const live = parts.filter((part) => !part.entry.signal.aborted);
    if (live.length === 0) return;
    try {
      await this.runTogether(live);
    } catch (error) {
      if (live.length === 1) return this.fail(live[0].entry, error);
      // One request's bad input must not fail the others: run each alone to find whose it was.
      for (const part of live) {
        if (part.entry.signal.aborted) continue;
        await this.runTogether([part]).catch((alone: unknown) => this.fail(part.entry, alone));
      }
    }
  }

  private async runTogether(parts: Part[]): Promise<void> {
    // Longest first, so the pipeline's padded groups hold inputs of similar lengths.
    const slots = parts.flatMap((part) =>
      Array.from({ length: part.count }, (_, i) => ({ part, index: part.from + i })),
    );
    slots.sort((a, b) => b.part.entry.inputs[b.index].tokens - a.part.entry.inputs[a.index].tokens);
    const inputs = slots.map((slot) => slot.part.entry.inputs[slot.index]);
    const outputs = await this.runBatch(
      inputs.map((input) => input.value),
      parts[0].entry.parameters,
      inputs.map((input) => input.single),
    );
    slots.forEach((slot, i) => {
      slot.part.entry.outputs[slot.index] = outputs[i];
    });
    for (const part of parts) {
      const entry = part.entry;
      entry.done += part.count;
      if (entry.done === entry.inputs.length && !entry.signal.aborted) entry.resolve(entry.outputs);
    }
  }

  private fail(entry: Entry, error: unknown): void {
    this.remove(entry);
    entry.reject(error instanceof Error ? error : new BatchError(String(error), false));
  }
}
