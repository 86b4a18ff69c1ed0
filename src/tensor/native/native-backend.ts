// The native kernel backend: C++ kernels (src/tensor/native/*.cc) in a Node addon built by
// scripts/build-native.mjs. Float32Arrays are passed to the addon and used in place.

import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type {
  Activation,
  AdamWStep,
  Backend,
  EmbeddingLookup,
  LogitLossScales,
  MatmulInt8Options,
  MatmulOptions,
} from "../backend.js";
import type { Int8Matrix } from "../int8.js";

/** The addon's exports (see addon.cc for each function's arguments). */
interface NativeAddon {
  kernelSets(): string[];
  alloc(length: number): Float32Array;
  createContext(threads: number, kernelSet: string): NativeContext;
  matmul(
    ctx: NativeContext,
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
    bias: Float32Array | undefined,
    residual: Float32Array | undefined,
  ): void;
  packMatrix(
    ctx: NativeContext,
    b: Float32Array,
    n: number,
    k: number,
    transB: boolean,
  ): PackedMatrix;
  matmulPacked(
    ctx: NativeContext,
    a: Float32Array,
    packedB: PackedMatrix,
    c: Float32Array,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    accumulate: boolean,
    bias: Float32Array | undefined,
    residual: Float32Array | undefined,
  ): void;
  packInt8(
    ctx: NativeContext,
    values: Int8Array,
    scales: Float32Array,
    n: number,
    k: number,
  ): PackedInt8;
  matmulInt8(
    ctx: NativeContext,
    a: Float32Array,
    packedB: PackedInt8,
    c: Float32Array,
    m: number,
    bias: Float32Array | undefined,
    residual: Float32Array | undefined,
  ): void;
  embeddingsSum(
    ctx: NativeContext,
    word: Float32Array | Int8Array,
    scales: Float32Array | null,
    ids: Int32Array,
    position: Float32Array,
    positionIds: Int32Array,
    tokenType: Float32Array | null,
    typeIds: Int32Array | null,
    out: Float32Array,
    rows: number,
    dim: number,
  ): void;
  attentionForward(
    ctx: NativeContext,
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
    dropoutMask: Float32Array | undefined,
  ): void;
  attentionBackward(
    ctx: NativeContext,
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
    dropoutMask: Float32Array | undefined,
  ): void;
  layerNormForward(
    ctx: NativeContext,
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    out: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    rows: number,
    dim: number,
    eps: number,
  ): void;
  layerNormBackward(
    ctx: NativeContext,
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
  ): void;
  activationForward(
    ctx: NativeContext,
    kind: number,
    x: Float32Array,
    out: Float32Array,
    n: number,
  ): void;
  activationBackward(
    ctx: NativeContext,
    kind: number,
    x: Float32Array,
    dOut: Float32Array,
    dx: Float32Array,
    n: number,
  ): void;
  sumRows(
    ctx: NativeContext,
    x: Float32Array,
    out: Float32Array,
    rows: number,
    cols: number,
    accumulate: boolean,
  ): void;
  sumOfSquares(ctx: NativeContext, x: Float32Array, n: number): number;
  adamw(
    ctx: NativeContext,
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
  ): void;
  logitLosses(
    ctx: NativeContext,
    student: Float32Array,
    teacher: Float32Array,
    soft: Uint8Array,
    labels: Int32Array,
    dStudent: Float32Array,
    rowLosses: Float32Array,
    rows: number,
    vocab: number,
    temperature: number,
    ceScale: number,
    mlmScale: number,
    mseScale: number,
  ): void;
}

/** An opaque handle to the addon's thread pool and micro-kernel choice. */
type NativeContext = { readonly __nativeContext: unique symbol };

/** An opaque handle to a matrix the addon packed for one kernel set's micro-kernel. */
type PackedMatrix = { readonly __packedMatrix: unique symbol };

/** An int8 weight the addon packed for one kernel set's int8 tile. */
type PackedInt8 = { readonly __packedInt8: unique symbol };

/** A weight packed for matmul's `constantB`: which part of its buffer, and as what operand. */
interface PackedWeight {
  byteOffset: number;
  byteLength: number;
  n: number;
  k: number;
  transB: boolean;
  kernelSet: string;
  packed: PackedMatrix;
}

/**
 * Packed weights by the buffer holding them, shared by every NativeBackend so that `adamw` on any
 * of them drops a stale copy. Weak: a packed copy lives as long as its weight's buffer.
 */
const packedWeights = new WeakMap<ArrayBufferLike, PackedWeight[]>();

/** Inference weights packed at load (constantWeight), by the stand-in their layer passes. */
const standIns = new WeakMap<
  Float32Array,
  { packed: PackedMatrix; n: number; k: number; kernelSet: string }
>();

/** Int8 weights packed, by weight and kernel set; a packed copy lives as long as its weight. */
const packedInt8 = new WeakMap<Int8Matrix, Map<string, PackedInt8>>();

const ACTIVATION_CODES: Record<Activation, number> = { gelu: 0, relu: 1, silu: 2, gelu_new: 3 };

/** Where the addon is loaded from: $DISTILBERT_NATIVE_PATH, else where the build puts it. */
export function nativeAddonPath(): string {
  return (
    process.env.DISTILBERT_NATIVE_PATH ??
    fileURLToPath(
      new URL(
        "../../../../src/tensor/native/build/Release/distilbert_native.node",
        import.meta.url,
      ),
    )
  );
}

let addon: NativeAddon | undefined;

/** Loads the addon once; throws an Error saying why when it cannot be loaded. */
export function loadNativeAddon(): NativeAddon {
  if (!addon) {
    const path = nativeAddonPath();
    try {
      addon = createRequire(import.meta.url)(path) as NativeAddon;
    } catch (error) {
      const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
      throw new Error(`cannot load the native kernels from ${path}: ${reason}`);
    }
  }
  return addon;
}

/** Kernel sets this CPU can run, fastest first: avx512, avx2, generic (arm64: neon, generic). */
export function nativeKernelSets(): string[] {
  return loadNativeAddon().kernelSets();
}

export interface NativeBackendOptions {
  /** Threads in the backend's pool, the calling thread included; default: the machine's cores. */
  threads?: number;
  /** Which micro-kernel set to use (tests compare them all); default: the fastest. */
  kernelSet?: string;
}

export class NativeBackend implements Backend {
  readonly name = "native" as const;
  readonly threads: number;
  readonly kernelSet: string;
  private readonly addon: NativeAddon;
  private readonly ctx: NativeContext;

  /** Throws an Error saying why when the addon cannot be loaded. */
  constructor(options: NativeBackendOptions = {}) {
    this.addon = loadNativeAddon();
    this.threads = options.threads ?? availableParallelism();
    this.kernelSet = options.kernelSet ?? this.addon.kernelSets()[0];
    this.ctx = this.addon.createContext(this.threads, this.kernelSet);
  }

  alloc(length: number): Float32Array {
    return this.addon.alloc(length);
  }

  // The addon's arrays, packed weights and thread pool are freed with their objects by the
  // garbage collector (their finalizers).
  free(): void {}

  dispose(): void {}

  constantWeight(weight: Float32Array, n: number, k: number): Float32Array {
    const standIn = new Float32Array(0);
    standIns.set(standIn, {
      packed: this.addon.packMatrix(this.ctx, weight, n, k, true),
      n,
      k,
      kernelSet: this.kernelSet,
    });
    return standIn;
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
    const { transA = false, transB = false, accumulate = false, bias, residual } = options;
    const standIn = standIns.get(b);
    if (standIn) {
      if (!options.constantB || !transB || standIn.n !== n || standIn.k !== k) {
        throw new Error(`a packed inference weight [${standIn.n}, ${standIn.k}] used otherwise`);
      }
      if (standIn.kernelSet !== this.kernelSet) {
        throw new Error(`a weight packed for ${standIn.kernelSet} given to ${this.kernelSet}`);
      }
      this.addon.matmulPacked(
        this.ctx,
        a,
        standIn.packed,
        c,
        m,
        n,
        k,
        transA,
        accumulate,
        bias,
        residual,
      );
    } else if (options.constantB) {
      const packed = this.packedWeight(b, n, k, transB);
      this.addon.matmulPacked(this.ctx, a, packed, c, m, n, k, transA, accumulate, bias, residual);
    } else {
      this.addon.matmul(this.ctx, a, b, c, m, n, k, transA, transB, accumulate, bias, residual);
    }
  }

  matmulInt8(
    a: Float32Array,
    b: Int8Matrix,
    c: Float32Array,
    m: number,
    options: MatmulInt8Options = {},
  ): void {
    let bySet = packedInt8.get(b);
    if (!bySet) {
      bySet = new Map();
      packedInt8.set(b, bySet);
    }
    let packed = bySet.get(this.kernelSet);
    if (!packed) {
      packed = this.addon.packInt8(this.ctx, b.values, b.scales, b.rows, b.cols);
      bySet.set(this.kernelSet, packed);
    }
    this.addon.matmulInt8(this.ctx, a, packed, c, m, options.bias, options.residual);
  }

  /** b packed as matmul's op(B)[k, n], from the cache or packed now and cached. */
  private packedWeight(b: Float32Array, n: number, k: number, transB: boolean): PackedMatrix {
    let entries = packedWeights.get(b.buffer);
    if (!entries) {
      entries = [];
      packedWeights.set(b.buffer, entries);
    }
    const byteLength = n * k * 4;
    const found = entries.find(
      (e) =>
        e.byteOffset === b.byteOffset &&
        e.byteLength === byteLength &&
        e.n === n &&
        e.k === k &&
        e.transB === transB &&
        e.kernelSet === this.kernelSet,
    );
    if (found) return found.packed;
    const packed = this.addon.packMatrix(this.ctx, b, n, k, transB);
    entries.push({
      byteOffset: b.byteOffset,
      byteLength,
      n,
      k,
      transB,
      kernelSet: this.kernelSet,
      packed,
    });
    return packed;
  }

  /** Drops the packed copies of any weight overlapping `array`, which is about to change. */
  private forgetPacked(array: Float32Array): void {
    const entries = packedWeights.get(array.buffer);
    if (!entries) return;
    const start = array.byteOffset;
    const end = start + array.byteLength;
    const kept = entries.filter((e) => e.byteOffset >= end || e.byteOffset + e.byteLength <= start);
    if (kept.length === 0) packedWeights.delete(array.buffer);
    else packedWeights.set(array.buffer, kept);
  }

  embeddingsSum(lookup: EmbeddingLookup, out: Float32Array, rows: number, dim: number): void {
    const { word, ids, position, positionIds, tokenType } = lookup;
    const [table, scales] =
      word instanceof Float32Array ? [word, null] : [word.values, word.scales];
    this.addon.embeddingsSum(
      this.ctx,
      table,
      scales,
      ids,
      position,
      positionIds,
      tokenType?.table ?? null,
      tokenType?.ids ?? null,
      out,
      rows,
      dim,
    );
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
    this.addon.attentionForward(
      this.ctx,
      q,
      k,
      v,
      keyMask,
      probs,
      out,
      batch,
      seq,
      heads,
      headDim,
      dropoutMask,
    );
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
    this.addon.attentionBackward(
      this.ctx,
      dOut,
      q,
      k,
      v,
      probs,
      dq,
      dk,
      dv,
      batch,
      seq,
      heads,
      headDim,
      dropoutMask,
    );
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
    this.addon.layerNormForward(this.ctx, x, gamma, beta, out, mean, rstd, rows, dim, eps);
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
    this.addon.layerNormBackward(
      this.ctx,
      dOut,
      x,
      gamma,
      mean,
      rstd,
      dx,
      dGamma,
      dBeta,
      rows,
      dim,
    );
  }

  activationForward(kind: Activation, x: Float32Array, out: Float32Array, n: number): void {
    this.addon.activationForward(this.ctx, ACTIVATION_CODES[kind], x, out, n);
  }

  activationBackward(
    kind: Activation,
    x: Float32Array,
    dOut: Float32Array,
    dx: Float32Array,
    n: number,
  ): void {
    this.addon.activationBackward(this.ctx, ACTIVATION_CODES[kind], x, dOut, dx, n);
  }

  sumRows(
    x: Float32Array,
    out: Float32Array,
    rows: number,
    cols: number,
    accumulate: boolean,
  ): void {
    this.addon.sumRows(this.ctx, x, out, rows, cols, accumulate);
  }

  sumOfSquares(x: Float32Array, n: number): number {
    return this.addon.sumOfSquares(this.ctx, x, n);
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
    this.forgetPacked(param.subarray(0, n));
    this.addon.adamw(this.ctx, param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step.step);
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
    const { temperature, ceScale, mlmScale, mseScale } = scales;
    this.addon.logitLosses(
      this.ctx,
      student,
      teacher,
      soft,
      labels,
      dStudent,
      rowLosses,
      rows,
      vocab,
      temperature,
      ceScale,
      mlmScale,
      mseScale,
    );
  }
}
