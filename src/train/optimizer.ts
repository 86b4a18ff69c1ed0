// AdamW as torch.optim.AdamW (decoupled weight decay, bias correction), with Hugging Face
// Trainer's parameter groups, and torch.nn.utils.clip_grad_norm_.

import type { Parameter } from "../models/types.js";
import type { Backend } from "../tensor/backend.js";

export interface AdamWOptions {
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decay every parameter, biases and LayerNorm weights too (plain torch.optim.AdamW). */
  decayAll?: boolean;
}

/**
 * Hugging Face's Trainer keeps biases and normalisation weights out of weight decay. Its rule
 * matches parameter names, lower-cased, against these patterns.
 */
export function excludedFromDecay(name: string): boolean {
  const lower = name.toLowerCase();
  return /bias|layernorm|layer_norm|rmsnorm|(^|\.)norm($|\.)|_norm($|\.)/.test(lower);
}

interface Slot {
  param: Parameter;
  m: Float32Array;
  v: Float32Array;
  weightDecay: number;
}

export class AdamW {
  /** Optimizer steps taken; the next step is number `step + 1` for bias correction. */
  step = 0;
  private readonly slots: Slot[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;

  constructor(
    private readonly backend: Backend,
    parameters: Parameter[],
    options: AdamWOptions,
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    // As PyTorch's optimizers given only the parameters that require grad: a frozen table
    // (DistilBERT's sinusoidal positions) gets no update, no decay and no moments.
    this.slots = parameters
      .filter((param) => !param.frozen)
      .map((param) => ({
        param,
        m: backend.alloc(param.data.length),
        v: backend.alloc(param.data.length),
        weightDecay: options.decayAll || !excludedFromDecay(param.name) ? options.weightDecay : 0,
      }));
  }

  /** Gives the moments back to the backend: the optimizer cannot be used after. */
  dispose(): void {
    for (const { m, v } of this.slots) {
      this.backend.free(m);
      this.backend.free(v);
    }
    this.slots.length = 0;
  }

  /** One update from every param.grad at learning rate `lr`. */
  update(lr: number): void {
    this.step += 1;
    for (const { param, m, v, weightDecay } of this.slots) {
      if (!param.grad) throw new Error(`${param.name} has no gradient: call enableGradients()`);
      this.backend.adamw(param.data, param.grad, m, v, param.data.length, {
        lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay,
        step: this.step,
      });
    }
  }

  /** The moments by parameter name (`m.NAME`, `v.NAME`), for a checkpoint. */
  moments(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const { param, m, v } of this.slots) {
      out[`m.${param.name}`] = m;
      out[`v.${param.name}`] = v;
    }
    return out;
  }

  /** Restores what `moments()` and `step` saved. */
  restore(step: number, read: (name: string) => Float32Array): void {
    this.step = step;
    for (const { param, m, v } of this.slots) {
      m.set(read(`m.${param.name}`));
      v.set(read(`v.${param.name}`));
    }
  }
}

/**
 * Scales every gradient so their global L2 norm is at most `maxNorm`, as clip_grad_norm_
 * (coefficient maxNorm / (norm + 1e-6), applied only when below 1). Returns the norm before.
 */
export function clipGradNorm(backend: Backend, parameters: Parameter[], maxNorm: number): number {
  let sum = 0;
  for (const param of parameters) {
    if (param.grad) sum += backend.sumOfSquares(param.grad, param.grad.length);
  }
  const norm = Math.sqrt(sum);
  const coefficient = Math.fround(maxNorm / (Math.fround(norm) + 1e-6));
  if (coefficient < 1) scaleGradients(parameters, coefficient);
  return norm;
}

export function scaleGradients(parameters: Parameter[], factor: number): void {
  for (const param of parameters) {
    const grad = param.grad;
    if (!grad) continue;
    for (let i = 0; i < grad.length; i++) grad[i] *= factor;
  }
}
