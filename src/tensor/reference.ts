// The plain TypeScript backend: clear and obviously correct, the ground truth the fast backends
// are tested against. Accumulates in float64 where that is free.

import {
  type Activation,
  type AdamWStep,
  type Backend,
  type EmbeddingLookup,
  type LogitLossScales,
  MASKED_SCORE,
  type MatmulInt8Options,
  type MatmulOptions,
} from "./backend.js";
import { embeddingsSumReference } from "./embeddings.js";
import { type Int8Matrix, quantizeActivationRow } from "./int8.js";
import { logitLossesReference } from "./logit-losses.js";
import { activationDerivative, activationValue } from "./math.js";

export class ReferenceBackend implements Backend {
  readonly name = "reference" as const;
  readonly threads = 1;

  alloc(length: number): Float32Array {
    return new Float32Array(length);
  }

  // Plain arrays: the garbage collector frees them.
  free(): void {}

  dispose(): void {}

  constantWeight(weight: Float32Array): Float32Array {
    return weight;
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
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const av = transA ? a[p * m + i] : a[i * k + p];
          const bv = transB ? b[j * k + p] : b[p * n + j];
          sum += av * bv;
        }
        if (bias) sum += bias[j];
        const start = residual ? residual[i * n + j] : accumulate ? c[i * n + j] : 0;
        c[i * n + j] = accumulate || residual ? start + sum : sum;
      }
    }
  }

  matmulInt8(
    a: Float32Array,
    b: Int8Matrix,
    c: Float32Array,
    m: number,
    options: MatmulInt8Options = {},
  ): void {
    const { rows: n, cols: k, values, scales } = b;
    const { bias, residual } = options;
    const columnSums = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) columnSums[j] += values[j * k + p];
    }
    const row = new Uint8Array(k);
    for (let i = 0; i < m; i++) {
      const { scale, zeroPoint } = quantizeActivationRow(a, i * k, k, row);
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += row[p] * values[j * k + p];
        const integer = sum - zeroPoint * columnSums[j];
        let v = Math.fround(integer * Math.fround(scale * scales[j]));
        if (bias) v += bias[j];
        if (residual) v += residual[i * n + j];
        c[i * n + j] = v;
      }
    }
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
    const hidden = heads * headDim;
    const scale = 1 / Math.sqrt(headDim);
    const scores = new Float64Array(seq);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < seq; i++) {
          const qRow = (b * seq + i) * hidden + h * headDim;
          let max = -Infinity;
          for (let j = 0; j < seq; j++) {
            let s: number;
            if (keyMask[b * seq + j] === 0) {
              s = MASKED_SCORE;
            } else {
              const kRow = (b * seq + j) * hidden + h * headDim;
              s = 0;
              for (let d = 0; d < headDim; d++) s += q[qRow + d] * k[kRow + d];
              s *= scale;
            }
            scores[j] = s;
            if (s > max) max = s;
          }
          let total = 0;
          for (let j = 0; j < seq; j++) {
            scores[j] = Math.exp(scores[j] - max);
            total += scores[j];
          }
          const pRow = ((b * heads + h) * seq + i) * seq;
          for (let j = 0; j < seq; j++) probs[pRow + j] = scores[j] / total;
          for (let d = 0; d < headDim; d++) {
            let sum = 0;
            for (let j = 0; j < seq; j++) {
              const p = dropoutMask ? probs[pRow + j] * dropoutMask[pRow + j] : probs[pRow + j];
              sum += p * v[(b * seq + j) * hidden + h * headDim + d];
            }
            out[qRow + d] = sum;
          }
        }
      }
    }
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
    const hidden = heads * headDim;
    const scale = 1 / Math.sqrt(headDim);
    dq.fill(0, 0, batch * seq * hidden);
    dk.fill(0, 0, batch * seq * hidden);
    dv.fill(0, 0, batch * seq * hidden);
    const dProbs = new Float64Array(seq);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < seq; i++) {
          const row = (b * seq + i) * hidden + h * headDim;
          const pRow = ((b * heads + h) * seq + i) * seq;
          let dot = 0;
          for (let j = 0; j < seq; j++) {
            const col = (b * seq + j) * hidden + h * headDim;
            const drop = dropoutMask ? dropoutMask[pRow + j] : 1;
            let g = 0;
            for (let d = 0; d < headDim; d++) {
              g += dOut[row + d] * v[col + d];
              dv[col + d] += probs[pRow + j] * drop * dOut[row + d];
            }
            dProbs[j] = g * drop;
            dot += dProbs[j] * probs[pRow + j];
          }
          for (let j = 0; j < seq; j++) {
            const dScore = probs[pRow + j] * (dProbs[j] - dot) * scale;
            if (dScore === 0) continue;
            const col = (b * seq + j) * hidden + h * headDim;
            for (let d = 0; d < headDim; d++) {
              dq[row + d] += dScore * k[col + d];
              dk[col + d] += dScore * q[row + d];
            }
          }
        }
      }
    }
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
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      let sum = 0;
      for (let i = 0; i < dim; i++) sum += x[o + i];
      const mu = sum / dim;
      let sq = 0;
      for (let i = 0; i < dim; i++) sq += (x[o + i] - mu) ** 2;
      const s = 1 / Math.sqrt(sq / dim + eps);
      mean[r] = mu;
      rstd[r] = s;
      for (let i = 0; i < dim; i++) out[o + i] = (x[o + i] - mu) * s * gamma[i] + beta[i];
    }
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
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      const mu = mean[r];
      const s = rstd[r];
      let sumG = 0;
      let sumGX = 0;
      for (let i = 0; i < dim; i++) {
        const xHat = (x[o + i] - mu) * s;
        const g = dOut[o + i] * gamma[i];
        sumG += g;
        sumGX += g * xHat;
        dGamma[i] += dOut[o + i] * xHat;
        dBeta[i] += dOut[o + i];
      }
      for (let i = 0; i < dim; i++) {
        const xHat = (x[o + i] - mu) * s;
        const g = dOut[o + i] * gamma[i];
        dx[o + i] = s * (g - sumG / dim - (xHat * sumGX) / dim);
      }
    }
  }

  activationForward(kind: Activation, x: Float32Array, out: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) out[i] = activationValue(kind, x[i]);
  }

  activationBackward(
    kind: Activation,
    x: Float32Array,
    dOut: Float32Array,
    dx: Float32Array,
    n: number,
  ): void {
    for (let i = 0; i < n; i++) dx[i] = activationDerivative(kind, x[i]) * dOut[i];
  }

  sumRows(
    x: Float32Array,
    out: Float32Array,
    rows: number,
    cols: number,
    accumulate: boolean,
  ): void {
    for (let j = 0; j < cols; j++) {
      let sum = 0;
      for (let r = 0; r < rows; r++) sum += x[r * cols + j];
      out[j] = accumulate ? out[j] + sum : sum;
    }
  }

  sumOfSquares(x: Float32Array, n: number): number {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += x[i] * x[i];
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
    const correction1 = 1 - beta1 ** step.step;
    const correction2Sqrt = Math.sqrt(1 - beta2 ** step.step);
    const stepSize = lr / correction1;
    const decay = 1 - lr * weightDecay;
    for (let i = 0; i < n; i++) {
      const g = grad[i];
      param[i] *= decay;
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      param[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / correction2Sqrt + eps);
    }
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
}
