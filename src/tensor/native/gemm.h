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
