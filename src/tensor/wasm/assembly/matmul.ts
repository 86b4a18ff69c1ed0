// Matrix multiply C[m, n] (+)= op(A) op(B) (+ bias), packed and cache-blocked around a 5x8
// register tile of f32x4 accumulators. A call is cut into tasks, each a band of C's columns (or
// rows when C is tall and narrow) that the thread taking it packs into its own workspace, so
// threads never share writes. Leading dimensions (lda, ldb, ldc, in elements) let attention run
// it on one head's columns of a [tokens, hidden] matrix.

import { nextTask } from "./tasks";

// Register tile: MR rows by NR columns (two f32x4 per row): 10 accumulators, 2 B vectors and the
// broadcast A value fit the 16 SIMD registers V8 has on x64 without spilling (6x8 spills: -30%).
const MR: i32 = 5;
const NR: i32 = 8;
// Cache blocks: an A block MC x KC stays in L2, a B panel KC x NR in L1.
const KC: i32 = 256;
const MC: i32 = 120;
const NC: i32 = 2048;
// Tasks are blocks of C: rows in near-equal blocks of at most MC, columns in bands of
// BAND_COLUMNS. Each task packs its own A block and B band; at these sizes the packing is a few
// percent of the multiply (64-column bands made it 30%).
const BAND_COLUMNS: i32 = 256;

/** Bytes of workspace one thread needs for matmul. */
export function matmulWorkspaceBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) << 2;
}

// Stores the transpose of the 4x4 block whose rows are r0..r3: column q goes to dst + q * stride.
function storeTransposed(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst + stride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

function elementA(a: usize, transA: bool, lda: i32, i: i32, p: i32): usize {
  return a + ((<usize>(transA ? p * lda + i : i * lda + p)) << 2);
}

// dst[panel][p][ii] = A(i0 + panel * MR + ii, p0 + p), zero past row mEnd.
function packA(
  a: usize,
  transA: bool,
  lda: i32,
  i0: i32,
  mEnd: i32,
  p0: i32,
  kb: i32,
  dst: usize,
): void {
  for (let ib = i0; ib < mEnd; ib += MR) {
    const full = ib + MR <= mEnd;
    if (full && transA) {
      for (let p = 0; p < kb; p++) {
        const src = elementA(a, true, lda, ib, p0 + p);
        v128.store(dst, v128.load(src));
        store<f32>(dst, load<f32>(src, 16), 16);
        dst += MR << 2;
      }
    } else if (full) {
      const r0 = elementA(a, false, lda, ib, p0);
      const rowBytes = (<usize>lda) << 2;
      const step: usize = MR << 2;
      let p = 0;
      // Four k at a time: rows 0-3 by a 4x4 transpose, row 4 lane by lane.
      for (; p + 4 <= kb; p += 4) {
        const src = r0 + ((<usize>p) << 2);
        const r1 = src + rowBytes;
        const r2 = r1 + rowBytes;
        const r3 = r2 + rowBytes;
        storeTransposed(v128.load(src), v128.load(r1), v128.load(r2), v128.load(r3), dst, step);
        const last = v128.load(r3 + rowBytes);
        store<f32>(dst, f32x4.extract_lane(last, 0), 16);
        store<f32>(dst + step, f32x4.extract_lane(last, 1), 16);
        store<f32>(dst + 2 * step, f32x4.extract_lane(last, 2), 16);
        store<f32>(dst + 3 * step, f32x4.extract_lane(last, 3), 16);
        dst += 4 * step;
      }
      for (; p < kb; p++) {
        const src = r0 + ((<usize>p) << 2);
        store<f32>(dst, load<f32>(src));
        store<f32>(dst, load<f32>(src + rowBytes), 4);
        store<f32>(dst, load<f32>(src + 2 * rowBytes), 8);
        store<f32>(dst, load<f32>(src + 3 * rowBytes), 12);
        store<f32>(dst, load<f32>(src + 4 * rowBytes), 16);
        dst += MR << 2;
      }
    } else {
      for (let p = 0; p < kb; p++) {
        for (let ii = 0; ii < MR; ii++) {
          const i = ib + ii;
          store<f32>(
            dst + ((<usize>ii) << 2),
            i < mEnd ? load<f32>(elementA(a, transA, lda, i, p0 + p)) : 0,
          );
        }
        dst += MR << 2;
      }
    }
  }
}

// dst[panel][p][jj] = B(p0 + p, j0 + panel * NR + jj), zero past column nEnd.
function packB(
  b: usize,
  transB: bool,
  ldb: i32,
  j0: i32,
  nEnd: i32,
  p0: i32,
  kb: i32,
  dst: usize,
): void {
  for (let jb = j0; jb < nEnd; jb += NR) {
    const width = min<i32>(NR, nEnd - jb);
    if (width === NR && !transB) {
      let src = b + ((<usize>(p0 * ldb + jb)) << 2);
      const rowBytes = (<usize>ldb) << 2;
      for (let p = 0; p < kb; p++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        src += rowBytes;
        dst += NR << 2;
      }
    } else if (width === NR) {
      // Transposed B, four k at a time: two 4x4 transposes per step.
      const rowBytes = (<usize>ldb) << 2;
      const step: usize = NR << 2;
      const src0 = b + ((<usize>(jb * ldb + p0)) << 2);
      let p = 0;
      for (; p + 4 <= kb; p += 4) {
        const s0 = src0 + ((<usize>p) << 2);
        const s4 = s0 + 4 * rowBytes;
        const out = dst + ((<usize>p) << 5);
        storeTransposed(
          v128.load(s0),
          v128.load(s0 + rowBytes),
          v128.load(s0 + 2 * rowBytes),
          v128.load(s0 + 3 * rowBytes),
          out,
          step,
        );
        storeTransposed(
          v128.load(s4),
          v128.load(s4 + rowBytes),
          v128.load(s4 + 2 * rowBytes),
          v128.load(s4 + 3 * rowBytes),
          out + 16,
          step,
        );
      }
      for (; p < kb; p++) {
        for (let jj = 0; jj < NR; jj++) {
          const value = load<f32>(src0 + <usize>jj * rowBytes + ((<usize>p) << 2));
          store<f32>(dst + ((<usize>(p * NR + jj)) << 2), value);
        }
      }
      dst += (<usize>(kb * NR)) << 2;
    } else if (transB) {
      for (let jj = 0; jj < NR; jj++) {
        const out = dst + ((<usize>jj) << 2);
        if (jj < width) {
          const src = b + ((<usize>((jb + jj) * ldb + p0)) << 2);
          for (let p = 0; p < kb; p++) {
            store<f32>(out + ((<usize>(p * NR)) << 2), load<f32>(src + ((<usize>p) << 2)));
          }
        } else {
          for (let p = 0; p < kb; p++) store<f32>(out + ((<usize>(p * NR)) << 2), 0);
        }
      }
      dst += (<usize>(kb * NR)) << 2;
    } else {
      for (let p = 0; p < kb; p++) {
        const src = b + ((<usize>((p0 + p) * ldb + jb)) << 2);
        for (let jj = 0; jj < NR; jj++) {
          store<f32>(
            dst + ((<usize>jj) << 2),
            jj < width ? load<f32>(src + ((<usize>jj) << 2)) : 0,
          );
        }
        dst += NR << 2;
      }
    }
  }
}

// C tile [MR, NR] at c (row stride ldc bytes) += packed A panel x packed B panel.
function kernel5x8(pa: usize, pb: usize, c: usize, ldc: usize, kb: i32): void {
  const c1 = c + ldc;
  const c2 = c1 + ldc;
  const c3 = c2 + ldc;
  const c4 = c3 + ldc;
  let t00 = v128.load(c);
  let t01 = v128.load(c, 16);
  let t10 = v128.load(c1);
  let t11 = v128.load(c1, 16);
  let t20 = v128.load(c2);
  let t21 = v128.load(c2, 16);
  let t30 = v128.load(c3);
  let t31 = v128.load(c3, 16);
  let t40 = v128.load(c4);
  let t41 = v128.load(c4, 16);
  for (let p = 0; p < kb; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    t00 = f32x4.add(t00, f32x4.mul(a, b0));
    t01 = f32x4.add(t01, f32x4.mul(a, b1));
    a = v128.load32_splat(pa, 4);
    t10 = f32x4.add(t10, f32x4.mul(a, b0));
    t11 = f32x4.add(t11, f32x4.mul(a, b1));
    a = v128.load32_splat(pa, 8);
    t20 = f32x4.add(t20, f32x4.mul(a, b0));
    t21 = f32x4.add(t21, f32x4.mul(a, b1));
    a = v128.load32_splat(pa, 12);
    t30 = f32x4.add(t30, f32x4.mul(a, b0));
    t31 = f32x4.add(t31, f32x4.mul(a, b1));
    a = v128.load32_splat(pa, 16);
    t40 = f32x4.add(t40, f32x4.mul(a, b0));
    t41 = f32x4.add(t41, f32x4.mul(a, b1));
    pa += MR << 2;
    pb += NR << 2;
  }
  v128.store(c, t00);
  v128.store(c, t01, 16);
  v128.store(c1, t10);
  v128.store(c1, t11, 16);
  v128.store(c2, t20);
  v128.store(c2, t21, 16);
  v128.store(c3, t30);
  v128.store(c3, t31, 16);
  v128.store(c4, t40);
  v128.store(c4, t41, 16);
}

// A partial tile: run the kernel on a zero-padded copy, then copy the valid corner back.
function edgeTile(
  pa: usize,
  pb: usize,
  c: usize,
  ldc: i32,
  rows: i32,
  cols: i32,
  kb: i32,
  tile: usize,
): void {
  for (let r = 0; r < MR; r++) {
    for (let j = 0; j < NR; j++) {
      const at = tile + ((<usize>(r * NR + j)) << 2);
      store<f32>(at, r < rows && j < cols ? load<f32>(c + ((<usize>(r * ldc + j)) << 2)) : 0);
    }
  }
  kernel5x8(pa, pb, tile, NR << 2, kb);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      store<f32>(c + ((<usize>(r * ldc + j)) << 2), load<f32>(tile + ((<usize>(r * NR + j)) << 2)));
    }
  }
}

// Sets C's band to bias (or zero), or adds bias when accumulating, before the products add in.
function initialise(
  c: usize,
  bias: usize,
  accumulate: bool,
  ldc: i32,
  i0: i32,
  i1: i32,
  j0: i32,
  j1: i32,
): void {
  if (accumulate && bias === 0) return;
  for (let i = i0; i < i1; i++) {
    const row = c + ((<usize>(i * ldc)) << 2);
    for (let j = j0; j < j1; j++) {
      const at = row + ((<usize>j) << 2);
      const b: f32 = bias !== 0 ? load<f32>(bias + ((<usize>j) << 2)) : 0;
      store<f32>(at, accumulate ? load<f32>(at) + b : b);
    }
  }
}

/**
 * C[i0..i1, j0..j1] (+)= op(A) op(B) (+ bias) on one thread; ws: matmulWorkspaceBytes() bytes.
 * Strides are in elements: A is [m, lda] ([k, lda] when transA), B [k, ldb] ([n, ldb] when
 * transB), C [m, ldc].
 */
export function gemmBlock(
  a: usize,
  b: usize,
  c: usize,
  k: i32,
  lda: i32,
  ldb: i32,
  ldc: i32,
  transA: bool,
  transB: bool,
  accumulate: bool,
  bias: usize,
  ws: usize,
  i0: i32,
  i1: i32,
  j0: i32,
  j1: i32,
): void {
  if (i0 >= i1 || j0 >= j1) return;
  initialise(c, bias, accumulate, ldc, i0, i1, j0, j1);
  const packedA = ws;
  const packedB = packedA + ((<usize>(MC * KC)) << 2);
  const tile = packedB + ((<usize>(KC * NC)) << 2);
  const cStride = (<usize>ldc) << 2;
  for (let jc = j0; jc < j1; jc += NC) {
    const jEnd = min<i32>(jc + NC, j1);
    for (let pc = 0; pc < k; pc += KC) {
      const kb = min<i32>(KC, k - pc);
      packB(b, transB, ldb, jc, jEnd, pc, kb, packedB);
      for (let ic = i0; ic < i1; ic += MC) {
        const iEnd = min<i32>(ic + MC, i1);
        packA(a, transA, lda, ic, iEnd, pc, kb, packedA);
        for (let jr = jc; jr < jEnd; jr += NR) {
          const pb = packedB + ((<usize>((jr - jc) * kb)) << 2);
          const cols = min<i32>(NR, jEnd - jr);
          for (let ir = ic; ir < iEnd; ir += MR) {
            const pa = packedA + ((<usize>((ir - ic) * kb)) << 2);
            const at = c + ((<usize>(ir * ldc + jr)) << 2);
            const rows = min<i32>(MR, iEnd - ir);
            if (rows === MR && cols === NR) kernel5x8(pa, pb, at, cStride, kb);
            else edgeTile(pa, pb, at, ldc, rows, cols, kb, tile);
          }
        }
      }
    }
  }
}

/** The backend's matmul: row-major, contiguous operands, shared out in blocks of C. */
export function matmul(
  a: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
  k: i32,
  transA: bool,
  transB: bool,
  accumulate: bool,
  bias: usize,
  workspace: usize,
  workspaceStride: usize,
  tid: i32,
): void {
  const ws = workspace + workspaceStride * tid;
  const lda = transA ? m : k;
  const ldb = transB ? k : n;
  const rowBlocks = (m + MC - 1) / MC;
  const rowsPerBlock = (((m + rowBlocks - 1) / rowBlocks + MR - 1) / MR) * MR;
  const bands = (n + BAND_COLUMNS - 1) / BAND_COLUMNS;
  for (let task = nextTask(); task < rowBlocks * bands; task = nextTask()) {
    const i0 = min<i32>(m, (task / bands) * rowsPerBlock);
    const j0 = (task % bands) * BAND_COLUMNS;
    const i1 = min<i32>(m, i0 + rowsPerBlock);
    const j1 = min<i32>(n, j0 + BAND_COLUMNS);
    gemmBlock(a, b, c, k, lda, ldb, n, transA, transB, accumulate, bias, ws, i0, i1, j0, j1);
  }
}
