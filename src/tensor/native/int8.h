// Int8 products, C[m, n] = A[m, k] B^T with B an int8 weight [n, k] quantized per row and each row
// of A quantized at run time to unsigned 8 bits with a zero point (src/tensor/int8.ts defines the
// arithmetic; every kernel set computes the same integer sums). A kernel set's part:
//
// - quantize_row: one row of A to its values, held widened to int16 so a 32-bit broadcast gives a
//   pair of them, k padded with zeros to a multiple of 4;
// - tile: a register tile C[rows <= mr, cols <= nr] from those rows and a packed panel of B (kp / 2
//   steps, each nr columns x 2 depths, of b_bytes each: 1 as int8, or 2 when the set's tile wants
//   them widened to int16 already), finishing with the scales, zero points, bias and residual.

#pragma once

#include <cstdint>

// What a tile needs to turn its int32 sums into C: per row of the tile (a_*), per column of the
// panel (b_*: padded to the panel's width), and the bias and residual at the tile's first column
// (null when absent; the residual laid out as C).
struct Int8Epilogue {
  const float* a_scale;
  const int32_t* a_zero;
  const float* b_scale;
  const int32_t* b_sum;
  const float* bias;
  const float* residual;
};

using Int8Tile = void (*)(int rows, int cols, long kp, const int16_t* a, long lda,
                          const void* bp, const Int8Epilogue& e, float* c, long ldc);

// x[k] -> out[kp] (values 0..255, zeros past k), *scale and *zero_point.
using QuantizeRow = void (*)(const float* x, long k, long kp, int16_t* out, float* scale,
                             int32_t* zero_point);

struct Int8Kernels {
  const char* name;
  int mr;
  int nr;
  int b_bytes;
  Int8Tile tile;
  QuantizeRow quantize_row;
};

// Depth padded as the packed operands hold it.
inline long int8_padded_depth(long k) { return (k + 3) / 4 * 4; }

const Int8Kernels& generic_int8_kernels();
#if defined(__x86_64__) || defined(_M_X64)
const Int8Kernels& avx2_int8_kernels();
#endif
