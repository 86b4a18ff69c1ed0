// The WebAssembly backend: AssemblyScript kernels with 128-bit SIMD (assembly/), run on shared
// memory by the calling thread plus worker threads. Arrays from `alloc` live in that memory and
// are used in place; other arrays are copied in and out. Two builds of the kernels: 128-bit SIMD,
// and relaxed SIMD where the engine has it and its int8 dot product is exact (assembly/int8.ts).

import type {
  Activation,
  AdamWStep,
  Backend,
  EmbeddingLookup,
  LogitLossScales,
  MatmulInt8Options,
  MatmulOptions,
} from "../backend.js";
import { embeddingsSumReference } from "../embeddings.js";
import type { Int8Matrix } from "../int8.js";
import { CONTROL } from "./control.js";
import { WasmHeap } from "./heap.js";
import { KERNELS_RELAXED_SIMD_WASM_BASE64, KERNELS_WASM_BASE64 } from "./kernels.generated.js";
import { Operands } from "./operands.js";
import { defaultThreadCount } from "./platform.js";
import { ThreadPool } from "./pool.js";

const KERNELS = [
  "matmul",
  "quantizeRowsInt8",
  "matmulInt8",
  "attentionForward",
  "attentionBackward",
  "layerNormForward",
  "layerNormBackward",
  "activationForward",
  "activationBackward",
  "sumRows",
  "sumOfSquares",
  "adamw",
  "logitLosses",
] as const;

type KernelName = (typeof KERNELS)[number];

const ACTIVATIONS: Record<Activation, number> = { gelu: 0, relu: 1, silu: 2, gelu_new: 3 };

// Below these sizes waking the workers costs more than it saves.
const MIN_PARALLEL_FLOPS = 1 << 18;
const MIN_PARALLEL_ELEMENTS = 1 << 15;

const INITIAL_PAGES = 256;

/** An int8 weight packed in the heap for matmulInt8 (assembly/int8.ts): byte offsets. */
interface PackedInt8 {
  values: number;
  scales: number;
  sums: number;
  kp: number;
}

/** Where one call's quantized rows of A live: byte offsets, and how many bytes there is room for. */
interface QuantizedRows {
  values: number;
  scales: number;
  zeros: number;
  capacity: number;
  rows: number;
}

/** The builds of the kernels (scripts/build-wasm.mjs). */
export type WasmKernelSet = "relaxed-simd" | "simd128";

export interface WasmBackendOptions {
  /** Threads including the caller; default: the machine's cores. */
  threads?: number;
  /** Which build of the kernels to run (tests compare them); default: the fastest this engine has. */
  kernelSet?: WasmKernelSet;
}

const KERNEL_SOURCES: Record<WasmKernelSet, string> = {
  "relaxed-simd": KERNELS_RELAXED_SIMD_WASM_BASE64,
  simd128: KERNELS_WASM_BASE64,
};

const compiled = new Map<WasmKernelSet, Promise<WebAssembly.Module>>();

function kernelModule(set: WasmKernelSet): Promise<WebAssembly.Module> {
  let module = compiled.get(set);
  if (!module) {
    const bytes = Uint8Array.from(atob(KERNEL_SOURCES[set]), (c) => c.charCodeAt(0));
    module = WebAssembly.compile(bytes);
    compiled.set(set, module);
  }
  return module;
}

/**
 * True where the relaxed build compiles and its dot product multiplies an unsigned byte (A's
 * quantized values, 0 to 255) by a signed one exactly, as int8.ts's arithmetic needs: not where it
 * saturates pairs to int16 (pmaddubsw, x64 without AVX-VNNI) or reads both bytes as signed (Arm).
 */
async function relaxedDotIsExact(): Promise<boolean> {
  let module: WebAssembly.Module;
  try {
    module = await kernelModule("relaxed-simd");
  } catch {
    return false;
  }
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const probe = instance.exports.int8DotProbe as (signed: number, unsigned: number) => number;
  return probe(127, 255) === 4 * 127 * 255 && probe(-128, 255) === -4 * 128 * 255;
}

let available: Promise<WasmKernelSet[]> | undefined;

/** The kernel builds this engine runs, fastest first. */
export function wasmKernelSets(): Promise<WasmKernelSet[]> {
  available ??= relaxedDotIsExact().then((exact) =>
    exact ? ["relaxed-simd", "simd128"] : ["simd128"],
  );
  return available;
}

/** Bytes of a value of quantized A and packed B: int16 in the SIMD128 build, a byte in relaxed. */
function int8ValueBytes(stepDepths: number): number {
  return 4 / stepDepths;
}

/** How matmulInt8's operands are laid out, as the module built them (assembly/int8.ts). */
interface Int8Layout {
  panelWidth: number;
  rowGroup: number;
  stepDepths: number;
}

export class WasmBackend implements Backend {
  readonly name = "wasm" as const;
  readonly kernelSet: WasmKernelSet;
  private readonly operands: Operands;
  private workspace = 0;
  private workspaceStride = 0;
  private readonly results: Float64Array;
  private readonly packedInt8 = new WeakMap<Int8Matrix, PackedInt8>();
  private quantized: QuantizedRows = { values: 0, scales: 0, zeros: 0, capacity: 0, rows: 0 };

  private constructor(
    private readonly heap: WasmHeap,
    private readonly pool: ThreadPool,
    private readonly matmulWorkspaceBytes: number,
    private readonly int8: Int8Layout,
    kernelSet: WasmKernelSet,
  ) {
    this.kernelSet = kernelSet;
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
    const sets = await wasmKernelSets();
    const kernelSet = options.kernelSet ?? sets[0];
    if (!sets.includes(kernelSet)) {
      throw new Error(
        `wasm kernel set ${kernelSet} does not run exactly on this engine (it has: ${sets.join(", ")})`,
      );
    }
    const module = await kernelModule(kernelSet);
    const heap = new WasmHeap(INITIAL_PAGES, CONTROL.bytes);
    const pool = await ThreadPool.create(module, heap, [...KERNELS], threads);
    const exports = pool.instance.exports;
    const workspaceBytes = (exports.matmulWorkspaceBytes as () => number)();
    const int8: Int8Layout = {
      panelWidth: (exports.int8PanelWidth as () => number)(),
      rowGroup: (exports.int8RowGroup as () => number)(),
      stepDepths: (exports.int8StepDepths as () => number)(),
    };
    return new WasmBackend(heap, pool, workspaceBytes, int8, kernelSet);
  }

  get threads(): number {
    return this.pool.threads;
  }

  alloc(length: number): Float32Array {
    return this.heap.floats(this.heap.allocate(4 * length), length);
  }

  free(memory: Float32Array | Int8Matrix): void {
    if (memory instanceof Float32Array) {
      if (this.heap.owns(memory)) this.heap.release(memory.byteOffset);
      return;
    }
    const packed = this.packedInt8.get(memory);
    if (!packed) return;
    this.packedInt8.delete(memory);
    for (const offset of [packed.values, packed.scales, packed.sums]) this.heap.release(offset);
  }

  dispose(): void {
    this.pool.stop();
  }

  // No packed float weights here: the weight is used as it is.
  constantWeight(weight: Float32Array): Float32Array {
    return weight;
  }

  /** Bytes of the heap in use (for tests of freeing). */
  get bytesInUse(): number {
    return this.heap.bytesInUse;
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

  matmulInt8(
    a: Float32Array,
    b: Int8Matrix,
    c: Float32Array,
    m: number,
    options: MatmulInt8Options = {},
  ): void {
    const packed = this.packInt8(b);
    const { rows: n, cols: k } = b;
    const { kp } = packed;
    const q = this.quantizedRows(m, kp);
    const ops = this.operands;
    this.run(
      "quantizeRowsInt8",
      [ops.input(a), q.values, q.scales, q.zeros, m, k, kp],
      m * k >= MIN_PARALLEL_ELEMENTS,
    );
    const args = [
      q.values,
      q.scales,
      q.zeros,
      packed.values,
      packed.scales,
      packed.sums,
      ops.output(c),
      m,
      n,
      kp,
      ops.optional(options.bias),
      ops.optional(options.residual),
      this.workspace,
      this.workspaceStride,
    ];
    this.run("matmulInt8", args, m * n * k >= MIN_PARALLEL_FLOPS);
  }

  /**
   * b packed once into the heap: panels of int8.panelWidth columns, each kp / stepDepths steps of
   * stepDepths consecutive depths a column (widened to int16 for the SIMD128 build).
   */
  private packInt8(b: Int8Matrix): PackedInt8 {
    const found = this.packedInt8.get(b);
    if (found) return found;
    const { rows: n, cols: k, values, scales } = b;
    const { panelWidth: width, stepDepths } = this.int8;
    const kp = Math.ceil(k / 4) * 4;
    const columns = Math.ceil(n / width) * width;
    const packed: PackedInt8 = {
      values: this.heap.allocate(columns * kp * int8ValueBytes(stepDepths)),
      scales: this.heap.allocate(4 * columns),
      sums: this.heap.allocate(4 * columns),
      kp,
    };
    const buffer = this.heap.memory.buffer;
    const Values = int8ValueBytes(stepDepths) === 2 ? Int16Array : Int8Array;
    const out = new Values(buffer, packed.values, columns * kp);
    const sums = new Int32Array(buffer, packed.sums, columns);
    new Float32Array(buffer, packed.scales, columns).set(scales.subarray(0, n));
    for (let j = 0; j < n; j++) {
      const panel = Math.floor(j / width) * width * kp;
      const lane = stepDepths * (j % width);
      let sum = 0;
      for (let p = 0; p < k; p++) {
        const value = values[j * k + p];
        const step = Math.floor(p / stepDepths);
        out[panel + step * stepDepths * width + lane + (p % stepDepths)] = value;
        sum += value;
      }
      sums[j] = sum;
    }
    this.packedInt8.set(b, packed);
    return packed;
  }

  /**
   * Room for m quantized rows of kp values, in whole row groups (assembly/int8.ts), grown (never
   * shrunk) as calls need it.
   */
  private quantizedRows(m: number, kp: number): QuantizedRows {
    const { rowGroup, stepDepths } = this.int8;
    const bytes = int8ValueBytes(stepDepths) * Math.ceil(m / rowGroup) * rowGroup * kp;
    if (bytes > this.quantized.capacity || m > this.quantized.rows) {
      const rows = Math.max(m, this.quantized.rows);
      const capacity = Math.max(bytes, this.quantized.capacity);
      if (this.quantized.capacity > 0) {
        for (const offset of [this.quantized.values, this.quantized.scales, this.quantized.zeros]) {
          this.heap.release(offset);
        }
      }
      this.quantized = {
        values: this.heap.allocate(capacity),
        scales: this.heap.allocate(4 * rows),
        zeros: this.heap.allocate(4 * rows),
        capacity,
        rows,
      };
    }
    return this.quantized;
  }

  embeddingsSum(lookup: EmbeddingLookup, out: Float32Array, rows: number, dim: number): void {
    embeddingsSumReference(lookup, out, rows, dim);
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
    for (let r = 0; r < rows; r++) {
      const label = labels[r];
      if (label !== -100 && !(label >= 0 && label < vocab)) {
        throw new RangeError(`logitLosses: label ${label} at row ${r} is outside [0, vocab)`);
      }
    }
    this.ensureWorkspace(4 * vocab);
    const ops = this.operands;
    const args = [
      ops.input(student),
      ops.input(teacher),
      ops.input(soft),
      ops.input(labels),
      ops.output(dStudent),
      ops.output(rowLosses),
      rows,
      vocab,
      scales.temperature,
      scales.ceScale,
      scales.mlmScale,
      scales.mseScale,
      this.workspace,
      this.workspaceStride,
    ];
    this.run("logitLosses", args, rows > 1 && rows * vocab >= MIN_PARALLEL_ELEMENTS);
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
    if (this.workspaceStride > 0) this.heap.release(this.workspace);
    this.workspace = this.heap.allocate(stride * this.pool.threads);
    this.workspaceStride = stride;
  }
}
