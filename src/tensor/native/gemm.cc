#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "pool.h"

namespace {

// Per-thread packing buffers, grown on demand and kept for the thread's life.
struct PackBuffers {
  float* a = nullptr;
  float* b = nullptr;
  size_t a_size = 0;
  size_t b_size = 0;
  ~PackBuffers() {
    std::free(a);
    std::free(b);
  }
};

float* reserve(float*& buffer, size_t& size, size_t needed) {
  if (size < needed) {
    std::free(buffer);
    size_t bytes = (needed * sizeof(float) + 63) / 64 * 64;
    buffer = static_cast<float*>(std::aligned_alloc(64, bytes));
    size = needed;
  }
  return buffer;
}

thread_local PackBuffers pack_buffers;

// Packs `lines` rows of src (row stride ld) into a micro-panel of width `width`, transposed:
// out[p * width + i] = src[i * ld + p], zero-padding lines up to width. Writing the panel one
// source row at a time would touch a new cache line on almost every store, so it goes four depths
// at a time, transposing 4 x 4 blocks and writing whole panel rows.
void pack_transposing(const float* src, long ld, long depth, int lines, int width, float* out) {
  long p = 0;
#if defined(__SSE2__)
  if (lines == width && width % 4 == 0) {
    for (; p + 4 <= depth; p += 4) {
      float* dst = out + p * width;
      for (int c = 0; c < width; c += 4) {
        const float* s = src + c * ld + p;
        if (p % 16 == 0) {
          for (int i = 0; i < 4; ++i) {
            _mm_prefetch(reinterpret_cast<const char*>(s + i * ld + 64), _MM_HINT_T0);
          }
        }
        __m128 r0 = _mm_loadu_ps(s);
        __m128 r1 = _mm_loadu_ps(s + ld);
        __m128 r2 = _mm_loadu_ps(s + 2 * ld);
        __m128 r3 = _mm_loadu_ps(s + 3 * ld);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        _mm_storeu_ps(dst + c, r0);
        _mm_storeu_ps(dst + width + c, r1);
        _mm_storeu_ps(dst + 2 * width + c, r2);
        _mm_storeu_ps(dst + 3 * width + c, r3);
      }
    }
  }
#endif
  for (; p < depth; ++p) {
    float* dst = out + p * width;
    for (int c = 0; c < lines; ++c) dst[c] = src[c * ld + p];
    for (int c = lines; c < width; ++c) dst[c] = 0.0f;
  }
}

// Packs op(A)[rows i0.., depth p0..] into micro-panels of mr rows, zero-padding the last one.
void pack_a(const Operand& a, long i0, long rows, long p0, long depth, int mr, float* out) {
  for (long ir = 0; ir < rows; ir += mr) {
    int panel_rows = static_cast<int>(std::min<long>(mr, rows - ir));
    if (a.transposed) {
      for (long p = 0; p < depth; ++p) {
        const float* src = a.data + (p0 + p) * a.ld + i0 + ir;
        float* dst = out + p * mr;
        for (int r = 0; r < panel_rows; ++r) dst[r] = src[r];
        for (int r = panel_rows; r < mr; ++r) dst[r] = 0.0f;
      }
    } else {
      pack_transposing(a.data + (i0 + ir) * a.ld + p0, a.ld, depth, panel_rows, mr, out);
    }
    out += depth * mr;
  }
}


// Packs op(B)[depth p0.., cols j0..] into micro-panels of nr columns, zero-padding the last one.
void pack_b(const Operand& b, long p0, long depth, long j0, long cols, int nr, float* out) {
  for (long jr = 0; jr < cols; jr += nr) {
    int panel_cols = static_cast<int>(std::min<long>(nr, cols - jr));
    if (b.transposed) {
      pack_transposing(b.data + (j0 + jr) * b.ld + p0, b.ld, depth, panel_cols, nr, out);
    } else {
      for (long p = 0; p < depth; ++p) {
        const float* src = b.data + (p0 + p) * b.ld + j0 + jr;
        float* dst = out + p * nr;
        std::memcpy(dst, src, panel_cols * sizeof(float));
        for (int c = panel_cols; c < nr; ++c) dst[c] = 0.0f;
      }
    }
    out += depth * nr;
  }
}

// Prefetches part `part` of `parts` of the source of op(B)[depth p0.., cols j0..j0+cols) into
// L2.
void prefetch_b_part(const Operand& b, long p0, long depth, long j0, int cols, long part,
                     long parts) {
#if defined(__SSE2__)
  // The source is `lines` runs of `run` floats: rows of B^T, or rows of B's column range.
  long lines = b.transposed ? cols : depth;
  long run = b.transposed ? depth : cols;
  const float* base = b.transposed ? b.data + j0 * b.ld + p0 : b.data + p0 * b.ld + j0;
  for (long line = lines * part / parts; line < lines * (part + 1) / parts; ++line) {
    const char* start = reinterpret_cast<const char*>(base + line * b.ld);
    for (long offset = 0; offset < run * 4; offset += 64) {
      _mm_prefetch(start + offset, _MM_HINT_T1);
    }
  }
#endif
}

// Where multiply_block finds B's micro-panels: the one holding block column jr starts at
// data + (jr / nr) * stride.
struct PanelsB {
  float* data;
  long stride;
};

// C[rows, cols] (+)= op(A)[rows i0.., depth p0..] times op(B)[depth p0.., cols j0..], with B's
// block in micro-panels: packed already (pack_b_here false), or by this call as it goes (into
// panels of stride depth * nr). c points at C[i0, j0]; bias, when not null, at bias[j0];
// residual, when not null, at R[i0, j0] of an R laid out as C: each block of C starts as R's,
// copied while the block is about to be used (load must then be true).
void multiply_block(const KernelSet& ks, const Operand& a, const Operand& b, long i0, long rows,
                    long p0, long depth, long j0, long cols, PanelsB panels, bool pack_b_here,
                    float* c, long ldc, bool load, const float* bias,
                    const float* residual = nullptr) {
  const int mr = ks.mr;
  const int nr = ks.nr;
  // A set's in-place tile reads A where it lies, unpacked, when A is not transposed. Rows whose
  // stride is a multiple of 2 KB fall in at most two sets of the L1 cache and evict each other
  // (DistilBERT's 3072-wide FFN output, measured 10-14% slower): those are packed.
  bool in_place =
      ks.tile_in_place != nullptr && !a.transposed && a.ld * sizeof(float) % 2048 != 0;
  // Rows go in blocks of whole tiles, at most mc rows, as even as possible: a last block of a few
  // rows would read all of B's block again for little work. Up to one and a half blocks' worth
  // of rows are one block (DistilBERT's 128 rows at mc = 96).
  long row_tiles = (rows + mr - 1) / mr;
  long max_tiles = ks.mc / mr;
  long blocks = rows <= ks.mc * 3 / 2 ? 1 : (row_tiles + max_tiles - 1) / max_tiles;
  long block_capacity = (row_tiles + blocks - 1) / blocks * mr;
  float* packed_a =
      in_place ? nullptr : reserve(pack_buffers.a, pack_buffers.a_size, block_capacity * depth);
  for (long block = 0; block < blocks; ++block) {
    long ic = row_tiles * block / blocks * mr;
    long block_rows = std::min(rows, row_tiles * (block + 1) / blocks * mr) - ic;
    long tiles = (block_rows + mr - 1) / mr;
    if (!in_place) pack_a(a, i0 + ic, block_rows, p0, depth, mr, packed_a);
    if (residual) {
      for (long r = ic; r < ic + block_rows; ++r) {
        std::memcpy(c + r * ldc, residual + r * ldc, cols * sizeof(float));
      }
    }
    for (long jr = 0; jr < cols; jr += nr) {
      int tile_cols = static_cast<int>(std::min<long>(nr, cols - jr));
      float* bp = panels.data + (jr / nr) * panels.stride;
      // B's micro-panels are packed as the first row block reaches them, and the next one's
      // source is prefetched meanwhile, so reading B from memory overlaps the arithmetic
      // instead of preceding it.
      bool packing = pack_b_here && ic == 0;
      if (packing) pack_b(b, p0, depth, j0 + jr, tile_cols, nr, bp);
      int next_cols = static_cast<int>(std::min<long>(nr, cols - jr - nr));
      const float* tile_bias = bias ? bias + jr : nullptr;
      for (long ir = 0; ir < block_rows; ir += mr) {
        if (packing && next_cols > 0) {
          prefetch_b_part(b, p0, depth, j0 + jr + nr, next_cols, ir / mr, tiles);
        }
        int tile_rows = static_cast<int>(std::min<long>(mr, block_rows - ir));
        if (in_place) {
          ks.tile_in_place(tile_rows, tile_cols, depth, a.data + (i0 + ic + ir) * a.ld + p0, a.ld,
                           bp, c + (ic + ir) * ldc + jr, ldc, load, tile_bias);
        } else {
          ks.tile(tile_rows, tile_cols, depth, packed_a + (ir / mr) * depth * mr, bp,
                  c + (ic + ir) * ldc + jr, ldc, load, tile_bias);
        }
      }
    }
  }
}

// gemm with op(B) packed by pack_matrix: C[m, n] (+)= op(A) B (+ bias), c and bias pointing at
// the first column of the range and packed at its first micro-panel.
void gemm_prepacked(const KernelSet& ks, long m, long n, long k, Operand a, const float* packed,
                    float* c, long ldc, bool accumulate, const float* bias,
                    const float* residual) {
  const Operand unused{nullptr, 0, false};
  long kc = std::min<long>(ks.kc, k);
  long nc = std::min<long>(ks.nc, (n + ks.nr - 1) / ks.nr * ks.nr);
  for (long jc = 0; jc < n; jc += nc) {
    long cols = std::min(nc, n - jc);
    for (long pc = 0; pc < k; pc += kc) {
      bool first = pc == 0;
      PanelsB panels{const_cast<float*>(packed) + (jc / ks.nr) * k * ks.nr + pc * ks.nr,
                     k * ks.nr};
      multiply_block(ks, a, unused, 0, m, pc, std::min(kc, k - pc), jc, cols, panels, false,
                     c + jc, ldc, accumulate || residual || !first,
                     first && bias ? bias + jc : nullptr,
                     first && residual ? residual + jc : nullptr);
    }
  }
}

}  // namespace

void gemm(const KernelSet& ks, long m, long n, long k, Operand a, Operand b, float* c, long ldc,
          bool accumulate, const float* bias) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (long i = 0; i < m; ++i) {
      for (long j = 0; j < n; ++j) {
        float add = bias ? bias[j] : 0.0f;
        c[i * ldc + j] = accumulate ? c[i * ldc + j] + add : add;
      }
    }
    return;
  }
  long kc = std::min<long>(ks.kc, k);
  long nc = std::min<long>(ks.nc, (n + ks.nr - 1) / ks.nr * ks.nr);
  float* packed_b = reserve(pack_buffers.b, pack_buffers.b_size, nc * kc);
  for (long jc = 0; jc < n; jc += nc) {
    long cols = std::min(nc, n - jc);
    for (long pc = 0; pc < k; pc += kc) {
      bool first = pc == 0;
      long depth = std::min(kc, k - pc);
      multiply_block(ks, a, b, 0, m, pc, depth, jc, cols, {packed_b, depth * ks.nr}, true,
                     c + jc, ldc, accumulate || !first, first && bias ? bias + jc : nullptr);
    }
  }
}

namespace {

// For C taller than wide: each thread takes a slab of rows, and the threads first pack each block
// of B together into one shared copy (rather than each packing all of it).
void gemm_rows_parallel(Pool& pool, const KernelSet& ks, long m, long n, long k, Operand a,
                        Operand b, float* c, long ldc, bool accumulate, const float* bias) {
  const int nr = ks.nr;
  long kc = std::min<long>(ks.kc, k);
  long nc = std::min<long>(ks.nc, (n + nr - 1) / nr * nr);
  float* packed_b = reserve(pack_buffers.b, pack_buffers.b_size, nc * kc);
  long units = (m + ks.mr - 1) / ks.mr;
  int slabs = static_cast<int>(std::min<long>(pool.threads(), units));
  for (long jc = 0; jc < n; jc += nc) {
    long cols = std::min(nc, n - jc);
    for (long pc = 0; pc < k; pc += kc) {
      long depth = std::min(kc, k - pc);
      bool first = pc == 0;
      int panels = static_cast<int>((cols + nr - 1) / nr);
      parallel_for(pool, panels, [&](int panel) {
        long jr = static_cast<long>(panel) * nr;
        pack_b(b, pc, depth, jc + jr, std::min<long>(nr, cols - jr), nr,
               packed_b + jr * depth);
      });
      parallel_for(pool, slabs, [&](int slab) {
        long start = units * slab / slabs * ks.mr;
        long end = std::min(m, units * (slab + 1) / slabs * ks.mr);
        if (start >= end) return;
        multiply_block(ks, a, b, start, end - start, pc, depth, jc, cols,
                       {packed_b, depth * nr}, false, c + start * ldc + jc, ldc,
                       accumulate || !first,
                       first && bias ? bias + jc : nullptr);
      });
    }
  }
}

}  // namespace

void gemm_parallel(Pool& pool, const KernelSet& ks, long m, long n, long k, Operand a, Operand b,
                   float* c, long ldc, bool accumulate, const float* bias) {
  int threads = pool.threads();
  // Below this many multiply-adds, waking the other threads costs more than it saves.
  const double kSmall = 64.0 * 64.0 * 64.0;
  if (threads == 1 || static_cast<double>(m) * n * k < kSmall || k <= 0) {
    gemm(ks, m, n, k, a, b, c, ldc, accumulate, bias);
    return;
  }
  if (m > n) {
    gemm_rows_parallel(pool, ks, m, n, k, a, b, c, ldc, accumulate, bias);
    return;
  }
  // One slab of columns per thread, aligned to the register tile; each packs its own part of B.
  long units = (n + ks.nr - 1) / ks.nr;
  int slabs = static_cast<int>(std::min<long>(threads, units));
  parallel_for(pool, slabs, [&](int slab) {
    long start = units * slab / slabs * ks.nr;
    long end = std::min(n, units * (slab + 1) / slabs * ks.nr);
    if (start >= end) return;
    Operand b_slab = b;
    b_slab.data += b.transposed ? start * b.ld : start;
    gemm(ks, m, end - start, k, a, b_slab, c + start, ldc, accumulate,
         bias ? bias + start : nullptr);
  });
}

long packed_matrix_size(const KernelSet& ks, long n, long k) {
  return (n + ks.nr - 1) / ks.nr * ks.nr * k;
}

void pack_matrix(Pool& pool, const KernelSet& ks, long n, long k, Operand b, float* out) {
  const int nr = ks.nr;
  int panels = static_cast<int>((n + nr - 1) / nr);
  parallel_for(pool, panels, [&](int panel) {
    long j = static_cast<long>(panel) * nr;
    pack_b(b, 0, k, j, std::min<long>(nr, n - j), nr, out + j * k);
  });
}

void gemm_prepacked_parallel(Pool& pool, const KernelSet& ks, long m, long n, long k, Operand a,
                             const float* packed, float* c, long ldc, bool accumulate,
                             const float* bias, const float* residual) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (residual) {
      for (long i = 0; i < m; ++i) std::memcpy(c + i * ldc, residual + i * ldc, n * sizeof(float));
    }
    gemm(ks, m, n, k, a, a, c, ldc, accumulate || residual, bias);
    return;
  }
  int threads = pool.threads();
  const double kSmall = 64.0 * 64.0 * 64.0;
  if (threads == 1 || static_cast<double>(m) * n * k < kSmall) {
    gemm_prepacked(ks, m, n, k, a, packed, c, ldc, accumulate, bias, residual);
    return;
  }
  // Taller than wide: a slab of rows per thread, all reading the one packed B. Otherwise a slab
  // of columns (whole micro-panels) per thread, each packing A for itself.
  bool by_rows = m > n;
  int unit = by_rows ? ks.mr : ks.nr;
  long extent = by_rows ? m : n;
  long units = (extent + unit - 1) / unit;
  int slabs = static_cast<int>(std::min<long>(threads, units));
  parallel_for(pool, slabs, [&](int slab) {
    long start = units * slab / slabs * unit;
    long end = std::min(extent, units * (slab + 1) / slabs * unit);
    if (start >= end) return;
    if (by_rows) {
      Operand a_slab = a;
      a_slab.data += a.transposed ? start : start * a.ld;
      gemm_prepacked(ks, end - start, n, k, a_slab, packed, c + start * ldc, ldc, accumulate,
                     bias, residual ? residual + start * ldc : nullptr);
    } else {
      gemm_prepacked(ks, m, end - start, k, a, packed + start * k, c + start, ldc, accumulate,
                     bias ? bias + start : nullptr, residual ? residual + start : nullptr);
    }
  });
}
