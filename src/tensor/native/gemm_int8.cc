#include "gemm_int8.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "pool.h"

namespace {

void* aligned(size_t bytes) { return std::aligned_alloc(64, (bytes + 63) / 64 * 64); }

// A quantized for one call, grown on demand and kept for the calling thread's life (the pool's
// threads read it while the caller waits).
struct QuantizedRows {
  std::vector<char> values;
  std::vector<float> scales;
  std::vector<int32_t> zeros;
};

thread_local QuantizedRows quantized_rows;

// Rows of A in a block that fits in L2 beside a group of panels of B, a multiple of mr.
long rows_per_block(const Int8Kernels& kernels, long kp) {
  long rows = (128 * 1024) / (kp * kernels.a_bytes);
  return std::max<long>(kernels.mr, rows / kernels.mr * kernels.mr);
}

// Panels of B a tile row of A runs across before the next tile row starts: together they stay in
// L2 while every tile row of the block goes over them. Going across a group writes each row of C
// in runs of a few KB, where one panel at a time writes a 128-byte piece of every row of the block,
// rows n floats apart: for n = 3072 those all fall in one L1 set, which made the FFN's first
// product 20% slower.
long panels_per_group(long panel_bytes) {
  return std::max<long>(1, (256 * 1024) / panel_bytes);
}

// Brings the tile's rows of the residual (read by the epilogue) and of C (written by it) towards
// L1 while its depth loop runs: they were written by earlier products, often by the other core,
// and the epilogue's first use of each row waited for it (the residual's loads held 10% of the
// int8 epilogue's samples).
void prefetch_tile_rows(const float* residual, float* c, long ldc, int rows, int cols) {
  constexpr int kFloatsPerLine = 64 / sizeof(float);
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < cols; j += kFloatsPerLine) {
      __builtin_prefetch(residual + r * ldc + j, 0, 3);
    }
  }
}

// The next row of A, asked for while this one is quantized: A was just written by the layer
// before, often by the other core, and quantize_row's first pass waited on its loads (69% of its
// samples on the first use of each load).
void prefetch_row(const float* row, long k) {
  constexpr long kFloatsPerLine = 64 / sizeof(float);
  for (long p = 0; p < k; p += kFloatsPerLine) __builtin_prefetch(row + p, 0, 3);
}

// A part of the B panels the task after this one will read, towards L2: the `part`th of `pieces`
// equal pieces of [start, start + bytes).
void prefetch_part(const char* start, long bytes, long part, long pieces) {
  constexpr long kLine = 64;
  long piece = (bytes + pieces - 1) / pieces;
  long from = part * piece;
  long to = std::min(bytes, from + piece);
  for (long at = from; at < to; at += kLine) __builtin_prefetch(start + at, 0, 2);
}

}  // namespace

PackedInt8* pack_int8(const Int8Kernels& kernels, const int8_t* values, const float* scales,
                      long n, long k) {
  const int nr = kernels.nr;
  long kp = int8_padded_depth(kernels, k);
  const int group = kernels.depth_group;
  long panels = (n + nr - 1) / nr;
  long columns = panels * nr;
  const int width = kernels.b_bytes;
  long value_bytes = (width * columns * kp + 63) / 64 * 64;
  long bytes = value_bytes + columns * static_cast<long>(sizeof(float) + sizeof(int32_t));
  auto* block = static_cast<int8_t*>(aligned(bytes));
  if (block == nullptr) return nullptr;
  auto* packed = new PackedInt8{&kernels, n, k, kp, block, nullptr, nullptr, bytes};
  packed->scales = reinterpret_cast<float*>(block + value_bytes);
  auto* narrow = block;
  auto* wide = reinterpret_cast<int16_t*>(block);
  packed->sums = reinterpret_cast<int32_t*>(packed->scales + columns);
  std::memset(block, 0, bytes);
  for (long j = 0; j < n; ++j) {
    const int8_t* row = values + j * k;
    long panel = (j / nr) * nr * kp;
    int lane = static_cast<int>(j % nr);
    int32_t sum = 0;
    for (long p = 0; p < k; ++p) {
      // Step p / group of the panel holds each column's `group` depths.
      long at = panel + (p / group) * group * nr + group * lane + (p % group);
      if (width == 2) wide[at] = row[p];
      else narrow[at] = row[p];
      sum += row[p];
    }
    packed->scales[j] = scales[j];
    packed->sums[j] = sum;
  }
  return packed;
}

void free_packed_int8(PackedInt8* packed) {
  std::free(packed->values);
  delete packed;
}

void gemm_int8_parallel(Pool& pool, const PackedInt8& b, long m, const float* a, float* c,
                        const float* bias, const float* residual) {
  const Int8Kernels& kernels = *b.kernels;
  const long n = b.n;
  const long k = b.k;
  const long kp = b.kp;
  const int mr = kernels.mr;
  const int nr = kernels.nr;
  QuantizedRows& q = quantized_rows;
  const long row_bytes = kp * kernels.a_bytes;
  // Whole tiles of rows, so a tile's depth loop always reads mr rows; the rows past m are zeros
  // whose results are not stored.
  const long padded_rows = (m + mr - 1) / mr * mr;
  if (q.values.size() < static_cast<size_t>(padded_rows * row_bytes)) {
    q.values.resize(padded_rows * row_bytes);
  }
  if (q.scales.size() < static_cast<size_t>(m)) {
    q.scales.resize(m);
    q.zeros.resize(m);
  }
  char* qa = q.values.data();
  std::memset(qa + m * row_bytes, 0, (padded_rows - m) * row_bytes);
  float* a_scale = q.scales.data();
  int32_t* a_zero = q.zeros.data();

  const int threads = pool.threads();
  const long row_chunk = std::max<long>(1, (m + 4 * threads - 1) / (4 * threads));
  const int quantize_tasks = static_cast<int>((m + row_chunk - 1) / row_chunk);
  parallel_for(pool, quantize_tasks, [&](int t) {
    long end = std::min(m, (t + 1) * row_chunk);
    for (long i = t * row_chunk; i < end; ++i) {
      if (i + 1 < end) prefetch_row(a + (i + 1) * k, k);
      kernels.quantize_row(a + i * k, k, kp, qa + i * row_bytes, a_scale + i, a_zero + i);
    }
  });

  const long panels = (n + nr - 1) / nr;
  const long block_rows = rows_per_block(kernels, kp);
  const long row_blocks = (m + block_rows - 1) / block_rows;
  const long wanted = (4L * threads + row_blocks - 1) / row_blocks;
  const long column_chunks = std::min(panels, std::max<long>(1, wanted));
  const long panels_per_chunk = (panels + column_chunks - 1) / column_chunks;
  const long panel_bytes = nr * kp * kernels.b_bytes;
  const long group_panels = panels_per_group(panel_bytes);
  const int tasks = static_cast<int>(row_blocks * column_chunks);
  parallel_for(pool, tasks, [&](int t) {
    long i0 = (t / column_chunks) * block_rows;
    long i1 = std::min(m, i0 + block_rows);
    long first = (t % column_chunks) * panels_per_chunk;
    long last = std::min(panels, first + panels_per_chunk);
    // A weight's first pass comes from memory, and the tile row that first reads a chunk of it
    // waits on memory; so each task brings in, spread over its own tiles, the chunk of the task
    // this thread most likely takes next (the pool hands tasks out in order), unless that one
    // reads the same panels (about 3% of an int8 forward at 1x128).
    long next = t + threads;
    long next_first = (next % column_chunks) * panels_per_chunk;
    bool prefetch_next = next < tasks && next_first != first && next_first < panels;
    const char* next_b = static_cast<const char*>(b.values) + next_first * panel_bytes;
    long next_bytes = (std::min(panels, next_first + panels_per_chunk) - next_first) * panel_bytes;
    long tile_count = ((i1 - i0 + mr - 1) / mr) * (last - first);
    long tile_index = 0;
    for (long group = first; group < last; group += group_panels) {
      long group_end = std::min(last, group + group_panels);
      for (long i = i0; i < i1; i += mr) {
        int rows = static_cast<int>(std::min<long>(mr, i1 - i));
        for (long panel = group; panel < group_end; ++panel) {
          long j = panel * nr;
          int cols = static_cast<int>(std::min<long>(nr, n - j));
          const char* bp = static_cast<const char*>(b.values) + panel * panel_bytes;
          Int8Epilogue e = {a_scale + i,
                            a_zero + i,
                            b.scales + j,
                            b.sums + j,
                            bias ? bias + j : nullptr,
                            residual ? residual + i * n + j : nullptr};
          if (residual) prefetch_tile_rows(e.residual, c + i * n + j, n, rows, cols);
          if (prefetch_next) prefetch_part(next_b, next_bytes, tile_index++, tile_count);
          kernels.tile(rows, cols, kp, qa + i * row_bytes, kp, bp, e, c + i * n + j, n);
        }
      }
    }
  });
}
