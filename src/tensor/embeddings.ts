// Backend.embeddingsSum in plain TypeScript: the reference backend's implementation, and the
// WebAssembly backend's too (the tables live in JavaScript memory, not in its heap, and one pass
// over the rows is memory-bound).

import type { EmbeddingLookup } from "./backend.js";
import { dequantizeRow } from "./int8.js";

export function embeddingsSumReference(
  lookup: EmbeddingLookup,
  out: Float32Array,
  rows: number,
  dim: number,
): void {
  const { word, ids, position, positionIds, tokenType } = lookup;
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    if (word instanceof Float32Array) out.set(word.subarray(ids[r] * dim, (ids[r] + 1) * dim), o);
    else dequantizeRow(word, ids[r], out, o);
    const p = positionIds[r] * dim;
    for (let i = 0; i < dim; i++) out[o + i] += position[p + i];
    if (tokenType) {
      const { table } = tokenType;
      const t = tokenType.ids[r] * dim;
      for (let i = 0; i < dim; i++) out[o + i] += table[t + i];
    }
  }
}
