// Int8 products, C[m, n] = A[m, k] B^T with B an int8 weight [n, k] quantized per row and each row
// of A quantized at run time to unsigned 8 bits with a zero point (src/tensor/int8.ts defines the
// arithmetic; every kernel set computes the same integer sums). A kernel set's part:
//
// - quantize_row: one row of A to its values, as the set's tile reads them: a_bytes 2, the values
//   0..255 widened to int16 (so a 32-bit broadcast gives a pair); a_bytes 1, one byte each, as
//   the set's dot product wants them (x86 VNNI: the values 0..255; arm64 sdot: minus 128, as
//   int8); zeros past k up to the padded depth kp (a multiple of k_align);
// - tile: a register tile C[rows <= mr, cols <= nr] from those rows and a packed panel of B: kp /
//   depth_group steps, each nr columns x depth_group depths, b_bytes each (int8, or int16 for a
//   tile that wants them widened already); it finishes with the scales, zero points, bias and
//   residual. It may read all mr rows of A whatever `rows` is: gemm_int8_parallel pads A with
//   zero rows to a multiple of mr.

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

// a: the tile's first row, rows lda values apart.
using Int8Tile = void (*)(int rows, int cols, long kp, const void* a, long lda, const void* bp,
                          const Int8Epilogue& e, float* c, long ldc);

// x[k] -> out[kp], *scale and *zero_point.
using QuantizeRow = void (*)(const float* x, long k, long kp, void* out, float* scale,
                             int32_t* zero_point);

struct Int8Kernels {
  const char* name;
  int mr;
  int nr;
  int a_bytes;
  int b_bytes;
  int depth_group;
  int k_align;
  Int8Tile tile;
  QuantizeRow quantize_row;
};

// Depth padded as the set's packed operands hold it.
inline long int8_padded_depth(const Int8Kernels& kernels, long k) {
  return (k + kernels.k_align - 1) / kernels.k_align * kernels.k_align;
}

const Int8Kernels& generic_int8_kernels();
#if defined(__x86_64__) || defined(_M_X64)
const Int8Kernels& avx2_int8_kernels();
// Need AVX-VNNI and AVX512-VNNI (with AVX512BW) respectively.
const Int8Kernels& avx_vnni_int8_kernels();
const Int8Kernels& avx512_vnni_int8_kernels();
#endif
#if defined(__aarch64__)
// Needs the dot-product extension (ARMv8.2 FEAT_DotProd).
const Int8Kernels& neon_dotprod_int8_kernels();
#endif
