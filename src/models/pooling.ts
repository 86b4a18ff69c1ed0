// Sentence embeddings from token states: the mean over attended tokens, or the [CLS] state.

import type { Pooling } from "../io/config-format.js";

export { POOLINGS, type Pooling } from "../io/config-format.js";

/**
 * Pools one sequence of `hidden` [seq, size] (starting at `offset`) into a vector; `mask` gives
 * the attended tokens of that sequence.
 */
export function pool(
  pooling: Pooling,
  hidden: Float32Array,
  offset: number,
  mask: ArrayLike<number>,
  size: number,
): Float32Array {
  const out = new Float32Array(size);
  if (pooling === "cls") {
    out.set(hidden.subarray(offset, offset + size));
    return out;
  }
  const sum = new Float64Array(size);
  let count = 0;
  for (let t = 0; t < mask.length; t++) {
    if (!mask[t]) continue;
    count++;
    const row = offset + t * size;
    for (let i = 0; i < size; i++) sum[i] += hidden[row + i];
  }
  // sentence-transformers clamps the token count at 1e-9 so an empty mask gives zeros.
  const divisor = Math.max(count, 1e-9);
  for (let i = 0; i < size; i++) out[i] = sum[i] / divisor;
  return out;
}

/**
 * The backward of `pool` for one sequence: adds the pooled vector's gradient `dPooled` [size] into
 * `dHidden` [seq, size] (from `offset`): to the [CLS] state, or shared among the attended tokens.
 */
export function poolBackward(
  pooling: Pooling,
  dPooled: ArrayLike<number>,
  dHidden: Float32Array,
  offset: number,
  mask: ArrayLike<number>,
  size: number,
): void {
  if (pooling === "cls") {
    for (let i = 0; i < size; i++) dHidden[offset + i] += dPooled[i];
    return;
  }
  let count = 0;
  for (let t = 0; t < mask.length; t++) if (mask[t]) count++;
  const share = 1 / Math.max(count, 1e-9);
  for (let t = 0; t < mask.length; t++) {
    if (!mask[t]) continue;
    const row = offset + t * size;
    for (let i = 0; i < size; i++) dHidden[row + i] += dPooled[i] * share;
  }
}
