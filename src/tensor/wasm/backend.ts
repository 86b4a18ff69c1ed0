// The WebAssembly backend: AssemblyScript kernels with 128-bit SIMD (assembly/), run on shared
// memory by the calling thread plus worker threads. Arrays from `alloc` live in that memory and
// are used in place; other arrays are copied in and out.

import type { Activation, AdamWStep, Backend, LogitLossScales, MatmulOptions } from "../backend.js";
import { logitLossesReference } from "../logit-losses.js";
import { CONTROL } from "./control.js";
import { WasmHeap } from "./heap.js";
import { KERNELS_WASM_BASE64 } from "./kernels.generated.js";
import { Operands } from "./operands.js";
import { defaultThreadCount } from "./platform.js";
import { ThreadPool } from "./pool.js";

const KERNELS = [
  "matmul",
  "attentionForward",
  "attentionBackward",
  "layerNormForward",
  "layerNormBackward",
  "activationForward",
  "activationBackward",
  "sumRows",
  "sumOfSquares",
  "adamw",
] as const;

type KernelName = (typeof KERNELS)[number];

const ACTIVATIONS: Record<Activation, number> = { gelu: 0, relu: 1, silu: 2, gelu_new: 3 };

// Below these sizes waking the workers costs more than it saves.
const MIN_PARALLEL_FLOPS = 1 << 18;
const MIN_PARALLEL_ELEMENTS = 1 << 15;

const INITIAL_PAGES = 256;

export interface WasmBackendOptions {
  /** Threads including the caller; default: the machine's cores. */
  threads?: number;
}

let compiled: Promise<WebAssembly.Module> | undefined;

function kernelModule(): Promise<WebAssembly.Module> {
  if (!compiled) {
    const bytes = Uint8Array.from(atob(KERNELS_WASM_BASE64), (c) => c.charCodeAt(0));
    compiled = WebAssembly.compile(bytes);
  }
  return compiled;
}

export class WasmBackend implements Backend {
  readonly name = "wasm" as const;
  private readonly operands: Operands;
  private workspace = 0;
  private workspaceStride = 0;
  private readonly results: Float64Array;

  private constructor(
    private readonly heap: WasmHeap,
    private readonly pool: ThreadPool,
    private readonly matmulWorkspaceBytes: number,
  ) {
    this.operands = new Operands(heap);
    this.ensureWorkspace(matmulWorkspaceBytes);
    const resultsOffset = heap.allocate(8 * pool.threads);
    this.results = new Float64Array(heap.memory.buffer, resultsOffset, pool.threads);
  }

  static async create(options: WasmBackendOptions = {}): Promise<WasmBackend> {
    const threads = options.threads ?? (await defaultThreadCount());
    if (!Number.isInteger(threads) || threads < 1) {
      throw new RangeError(`threads must be a positive integer, got ${threads}`);
    }
    const module = await kernelModule();
    const heap = new WasmHeap(INITIAL_PAGES, CONTROL.bytes);
    const pool = await ThreadPool.create(module, heap, [...KERNELS], threads);
    const workspaceBytes = (pool.instance.exports.matmulWorkspaceBytes as () => number)();
    return new WasmBackend(heap, pool, workspaceBytes);
  }

  get threads(): number {
    return this.pool.threads;
  }

  alloc(length: number): Float32Array {
    return this.heap.floats(this.heap.allocate(4 * length), length);
  }

  matmul(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    m: number,
    n: number,
    k: number,
    options: MatmulOptions = {},
  ): void {
    const { transA = false, transB = false, bias, residual } = options;
    // A residual is C's starting value, accumulated onto.
    if (residual) c.set(residual.subarray(0, m * n));
    const accumulate = options.accumulate || residual !== undefined;
    const ops = this.operands;
    const args = [
      ops.input(a),
      ops.input(b),
      ops.output(c),
      m,
      n,
      k,
      Number(transA),
      Number(transB),
      Number(accumulate),
      ops.optional(bias),
      this.workspace,
      this.workspaceStride,
    ];
    this.run("matmul", args, m * n * k >= MIN_PARALLEL_FLOPS);
  }

  attentionForward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    keyMask: Float32Array,
    probs: Float32Array,
    out: Float32Array,
    batch: number,
    seq: number,
    heads: number,
    headDim: number,
    dropoutMask?: Float32Array,
  ): void {
    this.ensureWorkspace(this.matmulWorkspaceBytes + 4 * seq * seq);
    const ops = this.operands;
    const args = [
      ops.input(q),
      ops.input(k),
      ops.input(v),
      ops.input(keyMask),
      ops.output(probs),
      ops.output(out),
      batch,
      seq,
      heads,
      headDim,
      ops.optional(dropoutMask),
      this.workspace,
      this.workspaceStride,
    ];
    this.run("attentionForward", args, batch * heads * seq * seq * headDim >= MIN_PARALLEL_FLOPS);
  }

  attentionBackward(
    dOut: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    probs: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    batch: number,
    seq: number,
    heads: number,
    headDim: number,
    dropoutMask?: Float32Array,
  ): void {
    this.ensureWorkspace(this.matmulWorkspaceBytes + 8 * seq * seq);
    const ops = this.operands;
    const args = [
      ops.input(dOut),
      ops.input(q),
      ops.input(k),
      ops.input(v),
      ops.input(probs),
      ops.output(dq),
      ops.output(dk),
      ops.output(dv),
      batch,
      seq,
      heads,
      headDim,
      ops.optional(dropoutMask),
      this.workspace,
      this.workspaceStride,
    ];
    this.run("attentionBackward", args, batch * heads * seq * seq * headDim >= MIN_PARALLEL_FLOPS);
  }

  layerNormForward(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    out: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    rows: number,
    dim: number,
    eps: number,
  ): void {
    const ops = this.operands;
    const args = [
      ops.input(x),
      ops.input(gamma),
      ops.input(beta),
      ops.output(out),
      ops.output(mean),
      ops.output(rstd),
      rows,
      dim,
      eps,
    ];
    this.run("layerNormForward", args, rows * dim >= MIN_PARALLEL_ELEMENTS);
  }

  layerNormBackward(
    dOut: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    dGamma: Float32Array,
    dBeta: Float32Array,
    rows: number,
    dim: number,
  ): void {
    const ops = this.operands;
    const args = [
      ops.input(dOut),
      ops.input(x),
      ops.input(gamma),
      ops.input(mean),
      ops.input(rstd),
      ops.output(dx),
      ops.output(dGamma),
      ops.output(dBeta),
      rows,
      dim,
    ];
    this.run("layerNormBackward", args, rows * dim >= MIN_PARALLEL_ELEMENTS);
  }

  activationForward(kind: Activation, x: Float32Array, out: Float32Array, n: number): void {
    const ops = this.operands;
    const args = [ACTIVATIONS[kind], ops.input(x), ops.output(out), n];
    this.run("activationForward", args, n >= MIN_PARALLEL_ELEMENTS);
  }

  activationBackward(
    kind: Activation,
    x: Float32Array,
    dOut: Float32Array,
    dx: Float32Array,
    n: number,
  ): void {
    const ops = this.operands;
    const args = [ACTIVATIONS[kind], ops.input(x), ops.input(dOut), ops.output(dx), n];
    this.run("activationBackward", args, n >= MIN_PARALLEL_ELEMENTS);
  }

  sumRows(
    x: Float32Array,
    out: Float32Array,
    rows: number,
    cols: number,
    accumulate: boolean,
  ): void {
    const ops = this.operands;
    const args = [ops.input(x), ops.output(out), rows, cols, Number(accumulate)];
    this.run("sumRows", args, rows * cols >= MIN_PARALLEL_ELEMENTS);
  }

  sumOfSquares(x: Float32Array, n: number): number {
    const parallel = n >= MIN_PARALLEL_ELEMENTS;
    const threads = parallel ? this.threads : 1;
    this.results.fill(0);
    this.run("sumOfSquares", [this.operands.input(x), n, this.results.byteOffset], parallel);
    let sum = 0;
    for (let t = 0; t < threads; t++) sum += this.results[t];
    return sum;
  }

  adamw(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    step: AdamWStep,
  ): void {
    const { lr, beta1, beta2, eps, weightDecay } = step;
    const ops = this.operands;
    const args = [
      ops.output(param),
      ops.input(grad),
      ops.output(m),
      ops.output(v),
      n,
      beta1,
      beta2,
      eps,
      lr / (1 - beta1 ** step.step),
      1 - lr * weightDecay,
      Math.sqrt(1 - beta2 ** step.step),
    ];
    this.run("adamw", args, n >= MIN_PARALLEL_ELEMENTS);
  }

  logitLosses(
    student: Float32Array,
    teacher: Float32Array,
    soft: Uint8Array,
    labels: Int32Array,
    dStudent: Float32Array,
    rowLosses: Float32Array,
    rows: number,
    vocab: number,
    scales: LogitLossScales,
  ): void {
    logitLossesReference(student, teacher, soft, labels, dStudent, rowLosses, rows, vocab, scales);
  }

  private run(kernel: KernelName, args: number[], parallel: boolean): void {
    try {
      this.pool.run(KERNELS.indexOf(kernel), args, parallel ? this.threads : 1);
    } finally {
      this.operands.finish();
    }
  }

  // One workspace per thread, each at least `bytes`; grows (never shrinks) as calls need it.
  private ensureWorkspace(bytes: number): void {
    if (bytes <= this.workspaceStride) return;
    const stride = Math.ceil(bytes / 64) * 64;
    this.workspace = this.heap.allocate(stride * this.pool.threads);
    this.workspaceStride = stride;
  }
}
