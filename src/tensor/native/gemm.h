// Single-precision matrix multiply: C[m, n] (+)= op(A) op(B) (+ bias), packed and cache-blocked
// around a kernel set's register-tile micro-kernel.

#pragma once

#include "kernel_set.h"

class Pool;

// A matrix operand: element (row, col) of op(X) is data[row * ld + col], or data[col * ld + row]
// when transposed.
struct Operand {
  const float* data;
  long ld;
  bool transposed;
};

// Single-threaded: C[m, n] with row stride ldc.
void gemm(const KernelSet& kernels, long m, long n, long k, Operand a, Operand b, float* c,
          long ldc, bool accumulate, const float* bias);

// Splits the product across the pool's threads.
void gemm_parallel(Pool& pool, const KernelSet& kernels, long m, long n, long k, Operand a,
                   Operand b, float* c, long ldc, bool accumulate, const float* bias);

// op(B)[k, n] packed once for many products (a weight in inference): micro-panels of nr columns
// (the last zero-padded), each k steps of nr values, one after another. Its size in floats:
long packed_matrix_size(const KernelSet& kernels, long n, long k);

// Packs op(B)[k, n] into out, which holds packed_matrix_size floats and is 64-byte aligned.
void pack_matrix(Pool& pool, const KernelSet& kernels, long n, long k, Operand b, float* out);

// gemm_parallel with B packed by pack_matrix for the same kernel set, n and k. residual, when not
// null, is laid out as C and added to the product: C = op(A) B (+ bias) + residual.
void gemm_prepacked_parallel(Pool& pool, const KernelSet& kernels, long m, long n, long k,
                             Operand a, const float* packed_b, float* c, long ldc,
                             bool accumulate, const float* bias, const float* residual);
