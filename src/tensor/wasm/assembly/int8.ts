// Int8 products C[m, n] = A[m, k] B^T (src/tensor/int8.ts defines the arithmetic, which these
// kernels reproduce exactly): quantizeRowsInt8 turns A into unsigned 8-bit values (k padded to kp,
// a multiple of 4, with zeros) interleaved by groups of MR rows, then matmulInt8 multiplies them
// with B packed in panels of NR columns. Both are cut into tasks (tasks.ts). The module is built
// twice (scripts/build-wasm.mjs), and the product differs by build:
// - SIMD128: A and B held as int16 (B widened once, when JavaScript packs it), multiplied by
//   i32x4.dot_i16x8_s, exact int32 sums of 2 depths a lane (DEPTHS = 2). B's int8 widened as it
//   was loaded (load8x8_s) was 7-10% slower (1024-row products, 2 threads, 4 interleaved pairs):
//   the shuffle it costs shares the vector ports with the adds, which bound the loop. The packed
//   weights take twice their int8 bytes in this build, as onnxruntime-web packs them too.
// - relaxed SIMD: A as bytes, B as bytes, multiplied and accumulated by
//   i32x4.relaxed_dot_i8x16_i7x16_add_s, 4 depths a lane (DEPTHS = 4). With A's top bit set the
//   product is implementation-defined; the backend uses this build only where int8DotProbe shows
//   the engine multiplying unsigned by signed bytes exactly (vpdpbusd: Chromium on a CPU with
//   AVX-VNNI, 2x the SIMD128 tile there), never where it saturates (pmaddubsw) or multiplies
//   signed by signed (Arm's sdot).
//
// Quantized A layout: row group g (rows MR g .. MR g + MR - 1) holds kp / DEPTHS steps of MR rows
// x 4 bytes (DEPTHS values), so a step's A values are MR consecutive 4-byte words, broadcast one
// at a time. B's panel holds kp / DEPTHS steps of NR columns x DEPTHS values. The tile's loop reads
// A and B from two pointers at constant offsets (four row pointers, and B loaded whole and
// extended in halves, cost 8 address computations and 3 shuffles a step more: 1024-row products
// on 2 threads 119-139 -> 142-154 GOP/s).

import { roundToInt } from "./simdmath";
import { nextTask } from "./tasks";

// Register tile: MR rows x NR columns in 8 i32x4 accumulators, beside the B vectors, the broadcast
// A word and the product (13 of V8's 16 SIMD registers on x64).
const MR: i32 = 4;
const NR: i32 = 8;
const DEPTHS: i32 = ASC_FEATURE_RELAXED_SIMD ? 4 : 2;
// Bytes of one value of quantized A and of packed B, and of one step of a row group of A.
const VALUE_BYTES: i32 = 4 / DEPTHS;
const STEP_BYTES: i32 = MR * 4;
const ROW_CHUNK: i32 = 16;
// Rows of quantized A per task, kept in L2 while the task's panels pass over them.
const A_BLOCK_BYTES: i32 = 96 * 1024;
// Panels of B per task.
const BAND_PANELS: i32 = 8;

/** Columns of a packed panel of B, for the packing done in JavaScript. */
export function int8PanelWidth(): i32 {
  return NR;
}

/** Rows of a group of quantized A, to which JavaScript rounds the rows it allocates. */
export function int8RowGroup(): i32 {
  return MR;
}

/**
 * Depths of one step of a packed panel of B (consecutive values of one column), and of a row
 * group of quantized A; values of both take 4 / int8StepDepths() bytes.
 */
export function int8StepDepths(): i32 {
  return DEPTHS;
}

/**
 * Lane 0 of relaxed_dot_i8x16_i7x16_add_s with every byte of its signed operand `signed` and of
 * its 7-bit operand `unsigned`: 4 signed x unsigned where the engine multiplies unsigned bytes
 * exactly (0 in the SIMD128 build).
 */
export function int8DotProbe(signed: i32, unsigned: i32): i32 {
  if (!ASC_FEATURE_RELAXED_SIMD) return 0;
  const product = i32x4.relaxed_dot_i8x16_i7x16_add_s(
    i8x16.splat(<i8>signed),
    i8x16.splat(<i8>unsigned),
    i32x4.splat(0),
  );
  return i32x4.extract_lane(product, 0);
}

// Where depth p of a row sits from the row's first word: its step, then its place in the word.
function valueAt(p: i32): usize {
  return <usize>(p / DEPTHS) * STEP_BYTES + <usize>((p % DEPTHS) * VALUE_BYTES);
}

function storeValue(at: usize, q: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) store<u8>(at, <u8>q);
  else store<i16>(at, <i16>q);
}

// Quantizes row x (k floats) into a row group at `out` (the row's first word). roundToInt, pmin
// and pmax, where nearest with trunc_sat, min and max compile to long NaN-safe sequences on x64
// (|x / scale| is at most 255 here, so roundToInt's range holds).
function quantizeRow(x: usize, out: usize, k: i32, kp: i32, scaleAt: usize, zeroAt: usize): void {
  let lo4 = f32x4.splat(0);
  let hi4 = f32x4.splat(0);
  let p = 0;
  for (; p + 4 <= k; p += 4) {
    const v = v128.load(x + ((<usize>p) << 2));
    lo4 = f32x4.pmin(lo4, v);
    hi4 = f32x4.pmax(hi4, v);
  }
  let lo = min<f32>(
    min<f32>(f32x4.extract_lane(lo4, 0), f32x4.extract_lane(lo4, 1)),
    min<f32>(f32x4.extract_lane(lo4, 2), f32x4.extract_lane(lo4, 3)),
  );
  let hi = max<f32>(
    max<f32>(f32x4.extract_lane(hi4, 0), f32x4.extract_lane(hi4, 1)),
    max<f32>(f32x4.extract_lane(hi4, 2), f32x4.extract_lane(hi4, 3)),
  );
  for (; p < k; p++) {
    const v = load<f32>(x + ((<usize>p) << 2));
    lo = min<f32>(lo, v);
    hi = max<f32>(hi, v);
  }
  const scale: f32 = (hi - lo) / <f32>255;
  const inverse: f32 = scale === 0 ? 0 : <f32>1 / scale;
  const zero = <i32>min<f32>(255, max<f32>(0, nearest<f32>(-lo * inverse)));
  const inverse4 = f32x4.splat(inverse);
  const zero4 = i32x4.splat(zero);
  const none = i32x4.splat(0);
  const top = i32x4.splat(255);
  for (p = 0; p + 8 <= k; p += 8) {
    const at = x + ((<usize>p) << 2);
    let q0 = roundToInt(f32x4.mul(v128.load(at), inverse4));
    let q1 = roundToInt(f32x4.mul(v128.load(at, 16), inverse4));
    q0 = i32x4.min_s(i32x4.max_s(i32x4.add(q0, zero4), none), top);
    q1 = i32x4.min_s(i32x4.max_s(i32x4.add(q1, zero4), none), top);
    // Eight values: four words of two int16, or two words of four bytes.
    const words = i16x8.narrow_i32x4_s(q0, q1);
    const at4 = out + valueAt(p);
    if (ASC_FEATURE_RELAXED_SIMD) {
      const bytes = i8x16.narrow_i16x8_u(words, words);
      v128.store32_lane(at4, bytes, 0);
      v128.store32_lane(at4, bytes, 1, STEP_BYTES);
    } else {
      v128.store32_lane(at4, words, 0);
      v128.store32_lane(at4, words, 1, STEP_BYTES);
      v128.store32_lane(at4, words, 2, 2 * STEP_BYTES);
      v128.store32_lane(at4, words, 3, 3 * STEP_BYTES);
    }
  }
  for (; p < kp; p++) {
    const q = p < k ? <i32>nearest<f32>(load<f32>(x + ((<usize>p) << 2)) * inverse) + zero : 0;
    storeValue(out + valueAt(p), min<i32>(255, max<i32>(0, q)));
  }
  store<f32>(scaleAt, scale);
  store<i32>(zeroAt, zero);
}

/**
 * Rows of a [m, k] -> qa (row groups of MR rows x kp, the layout above), scales [m] (f32)
 * and zero points [m] (i32). The last group's missing rows are left as they are: their products
 * are computed and never stored.
 */
export function quantizeRowsInt8(
  a: usize,
  qa: usize,
  scales: usize,
  zeros: usize,
  m: i32,
  k: i32,
  kp: i32,
  _tid: i32,
): void {
  const tasks = (m + ROW_CHUNK - 1) / ROW_CHUNK;
  for (let task = nextTask(); task < tasks; task = nextTask()) {
    const end = min<i32>(m, (task + 1) * ROW_CHUNK);
    for (let i = task * ROW_CHUNK; i < end; i++) {
      const group = <usize>(i / MR) * <usize>MR;
      quantizeRow(
        a + ((<usize>i * <usize>k) << 2),
        qa + group * <usize>kp * <usize>VALUE_BYTES + ((<usize>(i % MR)) << 2),
        k,
        kp,
        scales + ((<usize>i) << 2),
        zeros + ((<usize>i) << 2),
      );
    }
  }
}

// Turns one row's two accumulators into C's values at `out` (8 floats); bias and residualRow are
// 0 when absent, bScales and bSums padded to whole panels.
function finishRow(
  acc0: v128,
  acc1: v128,
  zeroPoint: i32,
  aScale: f32,
  bScales: usize,
  bSums: usize,
  bias: usize,
  residualRow: usize,
  out: usize,
): void {
  const zero = i32x4.splat(zeroPoint);
  const scale = f32x4.splat(aScale);
  const i0 = i32x4.sub(acc0, i32x4.mul(zero, v128.load(bSums)));
  const i1 = i32x4.sub(acc1, i32x4.mul(zero, v128.load(bSums, 16)));
  let v0 = f32x4.mul(f32x4.convert_i32x4_s(i0), f32x4.mul(scale, v128.load(bScales)));
  let v1 = f32x4.mul(f32x4.convert_i32x4_s(i1), f32x4.mul(scale, v128.load(bScales, 16)));
  if (bias) {
    v0 = f32x4.add(v0, v128.load(bias));
    v1 = f32x4.add(v1, v128.load(bias, 16));
  }
  if (residualRow) {
    v0 = f32x4.add(v0, v128.load(residualRow));
    v1 = f32x4.add(v1, v128.load(residualRow, 16));
  }
  v128.store(out, v0);
  v128.store(out, v1, 16);
}

/**
 * C[m, n] = A B^T (+ bias) (+ residual), from quantizeRowsInt8's output and B packed (values,
 * per-column scales and sums, padded to whole panels). bias and residual are 0 when absent; a
 * tile at C's right edge goes through the thread's workspace (32 bytes), so no access passes the
 * end of C, bias or residual.
 */
export function matmulInt8(
  qa: usize,
  aScales: usize,
  aZeros: usize,
  packed: usize,
  bScales: usize,
  bSums: usize,
  c: usize,
  m: i32,
  n: i32,
  kp: i32,
  bias: usize,
  residual: usize,
  workspace: usize,
  workspaceStride: usize,
  tid: i32,
): void {
  const scratch = workspace + workspaceStride * tid;
  const panels = (n + NR - 1) / NR;
  const bands = (panels + BAND_PANELS - 1) / BAND_PANELS;
  // Bytes of quantized A a row (within its group).
  const lda = <usize>kp * <usize>VALUE_BYTES;
  const blockRows = max<i32>(MR, (A_BLOCK_BYTES / <i32>lda / MR) * MR);
  const blocks = (m + blockRows - 1) / blockRows;
  const ldc = (<usize>n) << 2;
  for (let task = nextTask(); task < blocks * bands; task = nextTask()) {
    const i0 = (task / bands) * blockRows;
    const i1 = min<i32>(m, i0 + blockRows);
    const firstPanel = (task % bands) * BAND_PANELS;
    const lastPanel = min<i32>(panels, firstPanel + BAND_PANELS);
    for (let panel = firstPanel; panel < lastPanel; panel++) {
      const j = panel * NR;
      const cols = min<i32>(NR, n - j);
      const bp = packed + <usize>panel * <usize>NR * <usize>kp * <usize>VALUE_BYTES;
      for (let i = i0; i < i1; i += MR) {
        const rows = min<i32>(MR, i1 - i);
        let a = qa + <usize>i * lda;
        let c00 = i32x4.splat(0);
        let c01 = c00;
        let c10 = c00;
        let c11 = c00;
        let c20 = c00;
        let c21 = c00;
        let c30 = c00;
        let c31 = c00;
        let b = bp;
        const end = bp + <usize>NR * <usize>kp * <usize>VALUE_BYTES;
        while (b < end) {
          if (ASC_FEATURE_RELAXED_SIMD) {
            const b0 = v128.load(b);
            const b1 = v128.load(b, 16);
            let av = v128.load32_splat(a);
            c00 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b0, av, c00);
            c01 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b1, av, c01);
            av = v128.load32_splat(a, 4);
            c10 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b0, av, c10);
            c11 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b1, av, c11);
            av = v128.load32_splat(a, 8);
            c20 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b0, av, c20);
            c21 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b1, av, c21);
            av = v128.load32_splat(a, 12);
            c30 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b0, av, c30);
            c31 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b1, av, c31);
            b += 32;
          } else {
            const b0 = v128.load(b);
            const b1 = v128.load(b, 16);
            let av = v128.load32_splat(a);
            c00 = i32x4.add(c00, i32x4.dot_i16x8_s(av, b0));
            c01 = i32x4.add(c01, i32x4.dot_i16x8_s(av, b1));
            av = v128.load32_splat(a, 4);
            c10 = i32x4.add(c10, i32x4.dot_i16x8_s(av, b0));
            c11 = i32x4.add(c11, i32x4.dot_i16x8_s(av, b1));
            av = v128.load32_splat(a, 8);
            c20 = i32x4.add(c20, i32x4.dot_i16x8_s(av, b0));
            c21 = i32x4.add(c21, i32x4.dot_i16x8_s(av, b1));
            av = v128.load32_splat(a, 12);
            c30 = i32x4.add(c30, i32x4.dot_i16x8_s(av, b0));
            c31 = i32x4.add(c31, i32x4.dot_i16x8_s(av, b1));
            b += 32;
          }
          a += STEP_BYTES;
        }
        const bScalesAt = bScales + ((<usize>j) << 2);
        const bSumsAt = bSums + ((<usize>j) << 2);
        const corner = <usize>i * ldc + ((<usize>j) << 2);
        const full = cols === NR;
        // At C's right edge, bias, residual and C go through the scratch, padded with zeros.
        let biasAt: usize = 0;
        if (bias)
          biasAt = full
            ? bias + ((<usize>j) << 2)
            : edge(scratch + 32, bias + ((<usize>j) << 2), cols);
        for (let r = 0; r < rows; r++) {
          const row = corner + <usize>r * ldc;
          const out = full ? c + row : scratch;
          let residualRow: usize = 0;
          if (residual) residualRow = full ? residual + row : edge(scratch, residual + row, cols);
          const zero = load<i32>(aZeros + ((<usize>(i + r)) << 2));
          const scale = load<f32>(aScales + ((<usize>(i + r)) << 2));
          const acc0 = r === 0 ? c00 : r === 1 ? c10 : r === 2 ? c20 : c30;
          const acc1 = r === 0 ? c01 : r === 1 ? c11 : r === 2 ? c21 : c31;
          finishRow(acc0, acc1, zero, scale, bScalesAt, bSumsAt, biasAt, residualRow, out);
          if (!full) memory.copy(c + row, scratch, (<usize>cols) << 2);
        }
      }
    }
  }
}

// Copies `count` floats from src to dst and zeroes the rest of 8; returns dst.
function edge(dst: usize, src: usize, count: i32): usize {
  memory.fill(dst, 0, 32);
  memory.copy(dst, src, (<usize>count) << 2);
  return dst;
}
