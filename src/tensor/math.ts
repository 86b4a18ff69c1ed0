// Scalar functions shared by the TypeScript kernels: erf (JavaScript has none) and the
// activations with their derivatives.

import type { Activation } from "./backend.js";

const SQRT_HALF = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** erf(x) with relative error below 1.2e-7 everywhere (Chebyshev fit of erfc). */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t *
                              (-1.13520398 +
                                t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfc : erfc - 1;
}

export function activationValue(kind: Activation, x: number): number {
  switch (kind) {
    case "gelu":
      return 0.5 * x * (1 + erf(x * SQRT_HALF));
    case "relu":
      return Math.max(x, 0);
    case "silu":
      return x / (1 + Math.exp(-x));
    case "gelu_new":
      return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
  }
}

export function activationDerivative(kind: Activation, x: number): number {
  switch (kind) {
    case "gelu":
      return 0.5 * (1 + erf(x * SQRT_HALF)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    case "relu":
      return x > 0 ? 1 : 0;
    case "silu": {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 + x * (1 - s));
    }
    case "gelu_new": {
      const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
    }
  }
}
