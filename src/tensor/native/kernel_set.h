// A kernel set: the code compiled for one instruction set (AVX-512, AVX2 + FMA, NEON on arm64, or
// portable C++) — the matrix-multiply micro-kernel with its blocking, and the elementwise loops
// that gain from wider vectors. One is chosen at run time from the CPU's features.

#pragma once

#include "int8.h"

// How far ahead of the tile's depth loop the tiles prefetch their packed B (AVX-512 float and int8,
// AVX2 float): 64 steps of a 128-byte step. A weight's first pass in an inference forward comes
// from memory (DistilBERT-base's int8 weights are 43 MB, its float ones 5x the L3); at 128 rows
// this made the products 10-17% faster in float and about 10% in int8 (2 KB ahead: 5-7%), 5-15%
// with AVX2. A prefetch past the panel's end cannot fault. (The AVX2 and AVX-VNNI int8 tiles, more
// compute-bound, gained 1-6% at 128 rows and lost at 1024, so they do not.)
constexpr int kPrefetchAheadBytes = 8192;

enum class Activation { kGelu = 0, kRelu = 1, kSilu = 2, kGeluNew = 3 };

struct LogitLossScales {
  float temperature, ce_scale, mlm_scale, mse_scale;
};

// Computes one tile C[rows, cols] (+)= Ap Bp (+ bias) with rows <= mr and cols <= nr. Ap is a
// packed micro-panel (k steps of mr values), Bp a packed micro-panel (k steps of nr values).
// `load` adds to C's current values; bias, when not null, holds the tile's cols values.
using MicroKernel = void (*)(int rows, int cols, long k, const float* ap, const float* bp,
                             float* c, long ldc, bool load, const float* bias);

// The same with A read in place rather than packed: row r of the tile at a + r * lda, its k
// values contiguous (A not transposed).
using MicroKernelInPlace = void (*)(int rows, int cols, long k, const float* a, long lda,
                                   const float* bp, float* c, long ldc, bool load,
                                   const float* bias);

struct KernelSet {
  const char* name;
  int mr;  // rows of a register tile
  int nr;  // columns of a register tile
  int mc;  // rows of A packed per block (kept in L2), a multiple of mr
  int kc;  // depth of a packed block
  int nc;  // columns of B packed per block, a multiple of nr
  MicroKernel tile;
  // out[i] = f(x[i]) for i < n.
  void (*activation_forward)(Activation kind, const float* x, float* out, long n);
  // dx[i] = f'(x[i]) * d_out[i] for i < n.
  void (*activation_backward)(Activation kind, const float* x, const float* d_out, float* dx,
                              long n);
  // row[j] = softmax over j of (key_mask[j] == 0 ? float32 minimum : row[j] * scale).
  void (*softmax_row)(float* row, const float* key_mask, long n, float scale);
  // One row of LayerNorm: out = (x - mean) * rstd * gamma + beta, writing *mean and *rstd.
  void (*layer_norm_row)(const float* x, const float* gamma, const float* beta, float* out,
                         long dim, float eps, float* mean, float* rstd);
  // One row of LayerNorm's gradient: writes dx, adds into d_gamma and d_beta.
  void (*layer_norm_backward_row)(const float* d_out, const float* x, const float* gamma,
                                  float mean, float rstd, float* dx, float* d_gamma,
                                  float* d_beta, long dim);
  // One row of Backend.logitLosses (src/tensor/backend.ts): writes d[n] and losses[3]; label < 0
  // means none; scratch holds n floats.
  void (*logit_loss_row)(const float* s, const float* t, bool soft, long label, float* d,
                         float* scratch, long n, const LogitLossScales& scales, float* losses);
  // tile reading A in place, where the set has one that is as fast (null: A is packed).
  MicroKernelInPlace tile_in_place;
  // The int8 products' kernels (int8.h).
  const Int8Kernels* int8;
};

// `base` under another name, with its int8 products on other kernels (a CPU extension that adds
// only integer dot products, such as VNNI or FEAT_DotProd).
inline KernelSet with_int8_kernels(const KernelSet& base, const char* name,
                                   const Int8Kernels& int8) {
  KernelSet set = base;
  set.name = name;
  set.int8 = &int8;
  return set;
}

// The kernel sets compiled into this binary, best first; only those the CPU can run.
int available_kernel_sets(const KernelSet** out, int capacity);
const KernelSet* find_kernel_set(const char* name);

const KernelSet& generic_kernel_set();
#if defined(__x86_64__) || defined(_M_X64)
const KernelSet& avx2_kernel_set();
const KernelSet& avx512_kernel_set();
// avx2 and avx512 with the int8 products on AVX-VNNI and AVX512-VNNI.
const KernelSet& avx2_vnni_kernel_set();
const KernelSet& avx512_vnni_kernel_set();
#endif
#if defined(__aarch64__)
const KernelSet& neon_kernel_set();
// neon with the int8 products on the dot-product extension.
const KernelSet& neon_dotprod_kernel_set();
#endif
