// The int8 matrix multiply around a kernel set's int8 tile (int8.h): B packed once (a weight),
// A quantized row by row on every call, both split across the pool's threads.

#pragma once

#include <cstdint>

#include "int8.h"

class Pool;

// B [n, k] int8 with per-row scales, packed for one set of int8 kernels: panels of nr columns
// (the last zero-padded), each kp / depth_group steps of nr x depth_group values (int8, or int16
// for sets whose b_bytes is 2), and per column its scale and the sum of its values (for the zero-point
// correction), padded to whole panels.
struct PackedInt8 {
  const Int8Kernels* kernels;
  long n, k, kp;
  void* values;
  float* scales;
  int32_t* sums;
  long bytes;
};

// Packs values [n, k] and scales [n]; null when out of memory. Free with free_packed_int8.
PackedInt8* pack_int8(const Int8Kernels& kernels, const int8_t* values, const float* scales,
                      long n, long k);
void free_packed_int8(PackedInt8* packed);

// C[m, n] = A[m, k] B^T (+ bias[n]) (+ residual [m, n]).
void gemm_int8_parallel(Pool& pool, const PackedInt8& b, long m, const float* a, float* c,
                        const float* bias, const float* residual);
