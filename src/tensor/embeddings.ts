// Backend.embeddingsSum in plain TypeScript: the reference backend's implementation, and the
// WebAssembly backend's too (the tables live in JavaScript memory, not in its heap, and one pass
// over the rows is memory-bound).

import type { EmbeddingLookup } from "./backend.js";

export function embeddingsSumReference(
  lookup: EmbeddingLookup,
  out: Float32Array,
  rows: number,
  dim: number,
): void {
  const { word, ids, position, positionIds, tokenType } = lookup;
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const p = positionIds[r] * dim;
    const w = ids[r] * dim;
    if (word instanceof Float32Array) {
      for (let i = 0; i < dim; i++) out[o + i] = word[w + i] + position[p + i];
    } else {
      const { values } = word;
      const scale = word.scales[ids[r]];
      for (let i = 0; i < dim; i++)
        out[o + i] = Math.fround(values[w + i] * scale) + position[p + i];
    }
    if (tokenType) {
      const { table } = tokenType;
      const t = tokenType.ids[r] * dim;
      for (let i = 0; i < dim; i++) out[o + i] += table[t + i];
    }
  }
}
