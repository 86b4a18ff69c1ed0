// Creating a model's parameters: copied from a checkpoint (any float dtype, converted once into
// the backend's memory) with every shape checked, or initialised as Hugging Face initialises them.
// Linear weights and word embeddings may be int8 (tensor/int8.ts): stored so in the checkpoint as
// compressed-tensors writes them (`X.weight` I8 [out, in] beside `X.weight_scale` [out, 1]), or
// quantized here from float when the model is loaded as int8.

import { UserError } from "../errors.js";
import type { TensorInfo } from "../io/safetensors.js";
import type { Backend } from "../tensor/backend.js";
import { type Int8Matrix, quantizeRows } from "../tensor/int8.js";
import type { LinearParams, NormParams } from "./layers.js";
import { Rng } from "./rng.js";
import type { Parameter } from "./types.js";

/** Where weights come from: a `Checkpoint`, a `SafetensorsFile`, or anything shaped like them. */
export interface WeightSource {
  has(name: string): boolean;
  info(name: string): TensorInfo;
  float32(name: string): Float32Array;
  /** An I8 tensor's values; sources that never hold one need not have it. */
  int8?(name: string): Int8Array;
}

/** The key of an int8 weight's per-row scales, as compressed-tensors names it. */
export function scaleKey(weightKey: string): string {
  return `${weightKey}_scale`;
}

/**
 * How a parameter is initialised when the source lacks it: Hugging Face's `_init_weights`
 * (normal(0, initializer_range) for Linear and Embedding weights, zero biases, unit LayerNorm
 * gammas, the padding row zero) or DistilBERT's sinusoidal table.
 */
export type Init = "normal" | "zeros" | "ones" | "sinusoidal" | { embeddingPaddingIdx: number };

/** Encoder weights must be in the source; head weights may be initialised (a new head). */
export type Part = "encoder" | "head";

export interface FactoryOptions {
  source: WeightSource | null;
  /** Names the source in errors (a directory or file). */
  sourceName: string;
  /** Other keys a tensor may be stored under (prefix added or dropped, renamed biases). */
  aliases: (name: string) => string[];
  /** Initialise absent head weights instead of failing (the checkpoint is of another head). */
  initializeMissingHead: boolean;
  initializerRange: number;
  seed: number;
  /** Quantize float Linear weights and word embeddings to int8 as they are loaded. */
  int8: boolean;
  /**
   * The source's arrays belong to this model (a checkpoint read for it alone): backends that
   * compute on any array (reference, native) use them in place instead of a copy, which halves the
   * memory of loading a float32 checkpoint. WebAssembly still copies into its own memory.
   */
  adoptSource?: boolean;
  /**
   * An inference-only model: Linear weights go to the backend as constants (packed, where it
   * packs, with the float copy freed) and the model cannot be trained.
   */
  inference?: boolean;
}

export class ParameterFactory {
  readonly parameters: Parameter[] = [];
  /** Keys initialised rather than loaded, for a warning like Hugging Face's. */
  readonly initialized: string[] = [];
  private readonly rng: Rng;

  constructor(
    private readonly backend: Backend,
    private readonly options: FactoryOptions,
  ) {
    this.rng = new Rng(options.seed);
  }

  /** In an inference-only model, hands a Linear weight [n, k] to the backend as a constant. */
  constant(param: Parameter, n: number, k: number): void {
    if (!this.options.inference) return;
    param.data = this.backend.constantWeight(param.data, n, k);
    param.inferenceOnly = true;
  }

  /**
   * `quantizable`: a Linear weight or the word embeddings, which an int8 model holds as int8
   * (per-row scales) instead of float.
   */
  make(name: string, shape: number[], init: Init, part: Part, quantizable = false): Parameter {
    const size = shape.reduce((a, b) => a * b, 1);
    const { source } = this.options;
    const key = source
      ? [name, ...this.options.aliases(name)].find((k) => source.has(k))
      : undefined;
    const int8 = quantizable && this.options.int8;
    let data: Float32Array | undefined;
    if (source && key !== undefined) {
      const info = source.info(key);
      this.checkShape(key, info.shape, shape);
      if (info.dtype === "I8") {
        if (!quantizable) {
          throw new UserError(
            `tensor '${key}' in ${this.options.sourceName} is int8, but only Linear weights and word embeddings can be`,
          );
        }
        return this.push({
          name,
          shape,
          data: new Float32Array(0),
          grad: null,
          int8: this.readInt8(source, key, shape),
        });
      }
      const values = source.float32(key);
      const inPlace = int8 || (this.options.adoptSource && this.backend.name !== "wasm");
      data = inPlace ? values : this.backend.alloc(size);
      if (data !== values) data.set(values);
    } else if (source && (part === "encoder" || !this.options.initializeMissingHead)) {
      throw new UserError(
        `${this.options.sourceName} has no tensor '${name}' (shape [${shape.join(", ")}]): the checkpoint is incomplete or of another architecture`,
      );
    } else {
      data = int8 ? new Float32Array(size) : this.backend.alloc(size);
      this.initialise(data, shape, init);
      if (source) this.initialized.push(name);
    }
    if (int8) {
      const quantized = quantizeRows(data, shape[0], shape[1]);
      data = new Float32Array(0);
      return this.push({ name, shape, data, grad: null, int8: quantized });
    }
    return this.push({ name, shape, data, grad: null });
  }

  private push(param: Parameter): Parameter {
    this.parameters.push(param);
    return param;
  }

  private checkShape(key: string, actual: number[], shape: number[]): void {
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      throw new UserError(
        `tensor '${key}' in ${this.options.sourceName} has shape [${actual.join(", ")}] but the config needs [${shape.join(", ")}]: does config.json match the weights?`,
      );
    }
  }

  /** An int8 weight and its scales, which must be one float per row. */
  private readInt8(source: WeightSource, key: string, shape: number[]): Int8Matrix {
    const where = this.options.sourceName;
    const scales = scaleKey(key);
    if (!source.has(scales) || !source.int8) {
      throw new UserError(
        `tensor '${key}' in ${where} is int8 but '${scales}' is missing: the quantized folder is incomplete; quantize the float model again`,
      );
    }
    const scaleShape = source.info(scales).shape;
    const rows = shape[0];
    if (scaleShape[0] !== rows || scaleShape.slice(1).some((d) => d !== 1)) {
      throw new UserError(
        `tensor '${scales}' in ${where} has shape [${scaleShape.join(", ")}] but '${key}' needs one scale per row, [${rows}, 1]: the scales do not match the weights`,
      );
    }
    return {
      values: source.int8(key),
      scales: Float32Array.from(source.float32(scales)),
      rows,
      cols: shape[1],
    };
  }

  private initialise(data: Float32Array, shape: number[], init: Init): void {
    const std = this.options.initializerRange;
    if (init === "zeros") return;
    if (init === "ones") {
      data.fill(1);
    } else if (init === "sinusoidal") {
      sinusoidalTable(data, shape[0], shape[1]);
    } else {
      for (let i = 0; i < data.length; i++) data[i] = this.rng.normal() * std;
      if (init !== "normal") {
        const dim = shape[1];
        data.fill(0, init.embeddingPaddingIdx * dim, (init.embeddingPaddingIdx + 1) * dim);
      }
    }
  }
}

// table [positions, dim]: sin at even columns, cos at odd ones, frequency 10000^(-2 floor(j/2) / dim)
export function sinusoidalTable(table: Float32Array, positions: number, dim: number): void {
  for (let pos = 0; pos < positions; pos++) {
    for (let j = 0; j < dim; j++) {
      const angle = pos / 10000 ** ((2 * Math.floor(j / 2)) / dim);
      table[pos * dim + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
}

/** A Linear's weight [out, in] and bias [out] under `${prefix}.weight` and `${prefix}.bias`. */
export function makeLinear(
  factory: ParameterFactory,
  prefix: string,
  inDim: number,
  outDim: number,
  part: Part,
): LinearParams {
  const weight = factory.make(`${prefix}.weight`, [outDim, inDim], "normal", part, true);
  if (!weight.int8) factory.constant(weight, outDim, inDim);
  return {
    weight,
    bias: factory.make(`${prefix}.bias`, [outDim], "zeros", part),
    inDim,
    outDim,
  };
}

/** A LayerNorm's gamma and beta under `${prefix}.weight` and `${prefix}.bias`. */
export function makeNorm(
  factory: ParameterFactory,
  prefix: string,
  dim: number,
  eps: number,
  part: Part,
): NormParams {
  return {
    weight: factory.make(`${prefix}.weight`, [dim], "ones", part),
    bias: factory.make(`${prefix}.bias`, [dim], "zeros", part),
    dim,
    eps,
  };
}
