// The small numeric steps every pipeline's post-processing shares: softmax, sigmoid, argmax, top-k,
// computed in float64 from the model's float32 outputs.

/** Softmax of `values[offset .. offset + length)`, shifted by the maximum for stability. */
export function softmax(
  values: ArrayLike<number>,
  offset = 0,
  length = values.length - offset,
): number[] {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < length; i++) max = Math.max(max, values[offset + i]);
  const out = new Array<number>(length);
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const e = Math.exp(values[offset + i] - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < length; i++) out[i] /= sum;
  return out;
}

export function sigmoid(values: ArrayLike<number>): number[] {
  return Array.from(values, (v) => 1 / (1 + Math.exp(-v)));
}

/** Index of the largest value; the first one on ties (as numpy's argmax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Indices of the `k` largest values, largest first; ties keep index order. */
export function topKIndices(values: ArrayLike<number>, k: number): number[] {
  const count = Math.min(k, values.length);
  if (count <= 0) return [];
  // A sorted list of the best `count` seen so far: k is small next to a vocabulary.
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (best.length === count && v <= values[best[count - 1]]) continue;
    let at = best.length;
    while (at > 0 && values[best[at - 1]] < v) at--;
    best.splice(at, 0, i);
    if (best.length > count) best.pop();
  }
  return best;
}

/** Scales `vector[offset .. offset + length)` to unit L2 norm in place (a zero vector stays zero). */
export function normalizeL2(
  vector: Float32Array,
  offset = 0,
  length = vector.length - offset,
): void {
  let sum = 0;
  for (let i = 0; i < length; i++) sum += vector[offset + i] * vector[offset + i];
  // sentence-transformers and torch.nn.functional.normalize clamp the norm at 1e-12.
  const scale = 1 / Math.max(Math.sqrt(sum), 1e-12);
  for (let i = 0; i < length; i++) vector[offset + i] *= scale;
}
