// The server's Prometheus metrics (GET /metrics), named as text-embeddings-inference names its
// own where there is one: requests and their latency by route and status, errors by kind, the
// queue, batch sizes in inputs and tokens, and the time a batch takes on the model.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { BatchObserver } from "./batcher.js";

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: "te_request_count",
    help: "HTTP requests answered, by route and status",
    labelNames: ["route", "status"],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: "te_request_duration_seconds",
    help: "Time from a request's arrival to its answer, by route",
    labelNames: ["route"],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: "te_request_failure",
    help: "Requests that failed, by kind (validation, overloaded, timeout, aborted, backend, ...)",
    labelNames: ["kind"],
    registers: [this.registry],
  });
  private readonly queueSize = new Gauge({
    name: "te_queue_size",
    help: "Inputs waiting for the model, by task",
    labelNames: ["task"],
    registers: [this.registry],
  });
  private readonly batchInputs = new Histogram({
    name: "te_batch_next_size",
    help: "Inputs in each batch run, by task",
    labelNames: ["task"],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });
  private readonly batchTokens = new Histogram({
    name: "te_batch_next_tokens",
    help: "Tokens in each batch run, by task",
    labelNames: ["task"],
    buckets: [16, 64, 256, 1024, 4096, 16384, 65536],
    registers: [this.registry],
  });
  private readonly batchRequests = new Histogram({
    name: "te_batch_next_requests",
    help: "Requests sharing each batch, by task",
    labelNames: ["task"],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [this.registry],
  });
  private readonly inference = new Histogram({
    name: "te_batch_inference_duration_seconds",
    help: "Time a batch takes on the model, by task",
    labelNames: ["task"],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  answered(route: string, status: number, seconds: number): void {
    this.requests.inc({ route, status: String(status) });
    this.latency.observe({ route }, seconds);
  }

  failed(kind: string): void {
    this.errors.inc({ kind });
  }

  inferred(task: string, seconds: number): void {
    this.inference.observe({ task }, seconds);
  }

  /** What a task's batcher reports. */
  observer(task: string): BatchObserver {
    return {
      batch: (inputs, tokens, requests) => {
        this.batchInputs.observe({ task }, inputs);
        this.batchTokens.observe({ task }, tokens);
        this.batchRequests.observe({ task }, requests);
      },
      queued: (inputs) => this.queueSize.set({ task }, inputs),
    };
  }
}
