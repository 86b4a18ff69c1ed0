// Single-precision matrix multiply: C[m, n] (+)= op(A) op(B) (+ bias), packed and cache-blocked
// around a register-tile micro-kernel chosen from the CPU's features.

#pragma once

#include <cstddef>

class Pool;

// Computes one tile C[rows, cols] (+)= Ap Bp (+ bias) with rows <= mr and cols <= nr. Ap is a
// packed micro-panel (k steps of mr values), Bp a packed micro-panel (k steps of nr values).
// `load` adds to C's current values; bias, when not null, holds the tile's cols values.
using MicroKernel = void (*)(int rows, int cols, long k, const float* ap, const float* bp,
                             float* c, long ldc, bool load, const float* bias);

struct KernelSet {
  const char* name;
  int mr;  // rows of a register tile
  int nr;  // columns of a register tile
  int mc;  // rows of A packed per block (kept in L2), a multiple of mr
  int kc;  // depth of a packed block
  int nc;  // columns of B packed per block, a multiple of nr
  MicroKernel tile;
};

// The kernel sets compiled into this binary, best first; only those the CPU can run.
int available_kernel_sets(const KernelSet** out, int capacity);
const KernelSet* find_kernel_set(const char* name);

const KernelSet& generic_kernel_set();
#if defined(__x86_64__) || defined(_M_X64)
const KernelSet& avx2_kernel_set();
const KernelSet& avx512_kernel_set();
#endif

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
