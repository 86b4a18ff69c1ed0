// Int8 quantization as every backend computes it, so their integer sums are identical:
//
// - weights [out, in]: symmetric per output row, q = round(w / s) in [-127, 127], s = max|w| / 127
//   (a Linear's weight per output channel; the word embeddings per token, which makes the tied
//   masked-LM decoder per channel too);
// - activations [rows, in]: asymmetric per row, quantized at run time (dynamic, per token):
//   s = (max - min) / 255 over the row with 0 included, zero point z = round(-min / s),
//   q = clamp(round(x * (1 / s)) + z, 0, 255), every step in float32 and rounding half to even
//   (the vector units' rounding);
// - the product: C[i, j] = s_a[i] s_w[j] (sum_p q_a[i, p] q_w[j, p] - z[i] sum_p q_w[j, p]) + bias,
//   the integer sum exact in int32 (255 * 127 * k stays below 2^31 for k < 66,000).
//
// Asymmetric activations because the FFN's second input is GELU's output, almost all positive: a
// symmetric range would spend half its 256 steps on values that never occur (see docs/int8.md).

/** A weight matrix [rows, cols] quantized per row: row r is values[r * cols ..] * scales[r]. */
export interface Int8Matrix {
  values: Int8Array;
  scales: Float32Array;
  rows: number;
  cols: number;
}

/** Round half to even, as the vector units' float-to-int conversion does. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Quantizes w [rows, cols] per row, symmetrically (a row of zeros gets scale 0). */
export function quantizeRows(w: Float32Array, rows: number, cols: number): Int8Matrix {
  const values = new Int8Array(rows * cols);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let maxAbs = 0;
    for (let c = 0; c < cols; c++) maxAbs = Math.max(maxAbs, Math.abs(w[r * cols + c]));
    const scale = Math.fround(maxAbs / 127);
    scales[r] = scale;
    if (scale === 0) continue;
    for (let c = 0; c < cols; c++) {
      const q = roundHalfEven(w[r * cols + c] / scale);
      values[r * cols + c] = Math.max(-127, Math.min(127, q));
    }
  }
  return { values, scales, rows, cols };
}

/** Row r of m as float32 into out[offset ..]. */
export function dequantizeRow(m: Int8Matrix, r: number, out: Float32Array, offset: number): void {
  const scale = m.scales[r];
  const base = r * m.cols;
  for (let c = 0; c < m.cols; c++) out[offset + c] = Math.fround(m.values[base + c] * scale);
}

/** The whole matrix as float32 [rows, cols]. */
export function dequantize(m: Int8Matrix): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) dequantizeRow(m, r, out, r * m.cols);
  return out;
}

export interface RowQuantization {
  scale: number;
  zeroPoint: number;
}

/** Quantizes x[offset .. offset + k) into out[0 .. k) as unsigned 8-bit with a zero point. */
export function quantizeActivationRow(
  x: Float32Array,
  offset: number,
  k: number,
  out: Uint8Array,
): RowQuantization {
  let min = 0;
  let max = 0;
  for (let p = 0; p < k; p++) {
    const v = x[offset + p];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const scale = Math.fround(Math.fround(max - min) / 255);
  const inverse = scale === 0 ? 0 : Math.fround(1 / scale);
  const zeroPoint = Math.max(0, Math.min(255, roundHalfEven(Math.fround(-min * inverse))));
  for (let p = 0; p < k; p++) {
    const q = roundHalfEven(Math.fround(x[offset + p] * inverse)) + zeroPoint;
    out[p] = Math.max(0, Math.min(255, q));
  }
  return { scale, zeroPoint };
}
