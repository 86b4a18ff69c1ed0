// Matrix multiply C[m, n] (+)= op(A) op(B) (+ bias), packed and cache-blocked around a 5x8
// register tile of f32x4 accumulators. Each thread owns a band of C's columns (or rows when C is
// tall and narrow) and packs its own panels into its workspace, so threads never share writes.

// Register tile: MR rows by NR columns (two f32x4 per row): 10 accumulators, 2 B vectors and the
// broadcast A value fit the 16 SIMD registers V8 has on x64 without spilling (6x8 spills: -30%).
const MR: i32 = 5;
const NR: i32 = 8;
// Cache blocks: an A block MC x KC stays in L2, a B panel KC x NR in L1.
const KC: i32 = 256;
const MC: i32 = 120;
const NC: i32 = 2048;

/** Bytes of workspace one thread needs for matmul. */
export function matmulWorkspaceBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) << 2;
}

function elementA(a: usize, transA: bool, m: i32, k: i32, i: i32, p: i32): usize {
  return a + ((<usize>(transA ? p * m + i : i * k + p)) << 2);
}

// dst[panel][p][ii] = A(i0 + panel * MR + ii, p0 + p), zero past row mEnd.
function packA(
  a: usize,
  transA: bool,
  m: i32,
  k: i32,
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
        const src = elementA(a, true, m, k, ib, p0 + p);
        v128.store(dst, v128.load(src));
        store<f32>(dst, load<f32>(src, 16), 16);
        dst += MR << 2;
      }
    } else if (full) {
      const r0 = elementA(a, false, m, k, ib, p0);
      const rowBytes = (<usize>k) << 2;
      for (let p = 0; p < kb; p++) {
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
            i < mEnd ? load<f32>(elementA(a, transA, m, k, i, p0 + p)) : 0,
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
  n: i32,
  k: i32,
  j0: i32,
  nEnd: i32,
  p0: i32,
  kb: i32,
  dst: usize,
): void {
  for (let jb = j0; jb < nEnd; jb += NR) {
    const width = min<i32>(NR, nEnd - jb);
    if (width === NR && !transB) {
      let src = b + ((<usize>(p0 * n + jb)) << 2);
      const rowBytes = (<usize>n) << 2;
      for (let p = 0; p < kb; p++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        src += rowBytes;
        dst += NR << 2;
      }
    } else if (transB) {
      for (let jj = 0; jj < NR; jj++) {
        const out = dst + ((<usize>jj) << 2);
        if (jj < width) {
          const src = b + ((<usize>((jb + jj) * k + p0)) << 2);
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
        const src = b + ((<usize>((p0 + p) * n + jb)) << 2);
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
  n: i32,
  rows: i32,
  cols: i32,
  kb: i32,
  tile: usize,
): void {
  for (let r = 0; r < MR; r++) {
    for (let j = 0; j < NR; j++) {
      const at = tile + ((<usize>(r * NR + j)) << 2);
      store<f32>(at, r < rows && j < cols ? load<f32>(c + ((<usize>(r * n + j)) << 2)) : 0);
    }
  }
  kernel5x8(pa, pb, tile, NR << 2, kb);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      store<f32>(c + ((<usize>(r * n + j)) << 2), load<f32>(tile + ((<usize>(r * NR + j)) << 2)));
    }
  }
}

// Sets C's band to bias (or zero), or adds bias when accumulating, before the products add in.
function initialise(
  c: usize,
  bias: usize,
  accumulate: bool,
  n: i32,
  i0: i32,
  i1: i32,
  j0: i32,
  j1: i32,
): void {
  if (accumulate && bias === 0) return;
  for (let i = i0; i < i1; i++) {
    const row = c + ((<usize>(i * n)) << 2);
    for (let j = j0; j < j1; j++) {
      const at = row + ((<usize>j) << 2);
      const b: f32 = bias !== 0 ? load<f32>(bias + ((<usize>j) << 2)) : 0;
      store<f32>(at, accumulate ? load<f32>(at) + b : b);
    }
  }
}

function split(total: i32, unit: i32, tid: i32, threads: i32): i32 {
  const units = (total + unit - 1) / unit;
  const per = (units + threads - 1) / threads;
  return min<i32>(total, tid * per * unit);
}

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
  threads: i32,
): void {
  let i0 = 0;
  let i1 = m;
  let j0 = 0;
  let j1 = n;
  if (n >= m) {
    j0 = split(n, NR, tid, threads);
    j1 = split(n, NR, tid + 1, threads);
  } else {
    i0 = split(m, MR, tid, threads);
    i1 = split(m, MR, tid + 1, threads);
  }
  if (i0 >= i1 || j0 >= j1) return;
  initialise(c, bias, accumulate, n, i0, i1, j0, j1);

  const ws = workspace + workspaceStride * tid;
  const packedA = ws;
  const packedB = packedA + ((<usize>(MC * KC)) << 2);
  const tile = packedB + ((<usize>(KC * NC)) << 2);
  const ldc = (<usize>n) << 2;
  for (let jc = j0; jc < j1; jc += NC) {
    const jEnd = min<i32>(jc + NC, j1);
    for (let pc = 0; pc < k; pc += KC) {
      const kb = min<i32>(KC, k - pc);
      packB(b, transB, n, k, jc, jEnd, pc, kb, packedB);
      for (let ic = i0; ic < i1; ic += MC) {
        const iEnd = min<i32>(ic + MC, i1);
        packA(a, transA, m, k, ic, iEnd, pc, kb, packedA);
        for (let jr = jc; jr < jEnd; jr += NR) {
          const pb = packedB + ((<usize>((jr - jc) * kb)) << 2);
          const cols = min<i32>(NR, jEnd - jr);
          for (let ir = ic; ir < iEnd; ir += MR) {
            const pa = packedA + ((<usize>((ir - ic) * kb)) << 2);
            const at = c + ((<usize>(ir * n + jr)) << 2);
            const rows = min<i32>(MR, iEnd - ir);
            if (rows === MR && cols === NR) kernel5x8(pa, pb, at, ldc, kb);
            else edgeTile(pa, pb, at, n, rows, cols, kb, tile);
          }
        }
      }
    }
  }
}
