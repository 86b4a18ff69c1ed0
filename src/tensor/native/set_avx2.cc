// The AVX2 + FMA kernel set: a 6 x 16 matrix-multiply tile held in 12 ymm accumulators, and the
// elementwise loops at 8 floats a vector. Compiled with -mavx2 -mfma in its own translation unit;
// used only when the CPU has both.

#include <immintrin.h>

#include "elementwise.h"
#include "kernel_set.h"
#include "tile.h"

namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

__m256i column_mask(int valid) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(valid),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <int ROWS>
struct Avx2Tile {
  static void run(int cols, long k, const float* ap, const float* bp, float* c, long ldc,
                  bool load, const float* bias) {
    __m256 acc[ROWS][2];
    #pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (long p = 0; p < k; ++p) {
      __m256 b0 = _mm256_load_ps(bp);
      __m256 b1 = _mm256_load_ps(bp + 8);
      // One 64-byte step's line, kPrefetchAheadBytes ahead (kernel_set.h says why).
      _mm_prefetch(reinterpret_cast<const char*>(bp) + kPrefetchAheadBytes, _MM_HINT_T0);
      #pragma GCC unroll 16
      for (int r = 0; r < ROWS; ++r) {
        __m256 a = _mm256_broadcast_ss(ap + r);
        acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
      }
      ap += kMR;
      bp += kNR;
    }
    __m256i mask0 = column_mask(cols);
    __m256i mask1 = column_mask(cols - 8);
    __m256 bias0 = bias ? _mm256_maskload_ps(bias, mask0) : _mm256_setzero_ps();
    __m256 bias1 = bias ? _mm256_maskload_ps(bias + 8, mask1) : _mm256_setzero_ps();
    #pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
      float* row = c + r * ldc;
      __m256 v0 = _mm256_add_ps(acc[r][0], bias0);
      __m256 v1 = _mm256_add_ps(acc[r][1], bias1);
      if (cols == kNR) {
        if (load) {
          v0 = _mm256_add_ps(_mm256_loadu_ps(row), v0);
          v1 = _mm256_add_ps(_mm256_loadu_ps(row + 8), v1);
        }
        _mm256_storeu_ps(row, v0);
        _mm256_storeu_ps(row + 8, v1);
      } else {
        if (load) {
          v0 = _mm256_add_ps(_mm256_maskload_ps(row, mask0), v0);
          v1 = _mm256_add_ps(_mm256_maskload_ps(row + 8, mask1), v1);
        }
        _mm256_maskstore_ps(row, mask0, v0);
        _mm256_maskstore_ps(row + 8, mask1, v1);
      }
    }
  }
};

}  // namespace

const KernelSet& avx2_kernel_set() {
  static const KernelSet set = {"avx2", kMR, kNR, 120, 256, 2048, &tile_any_rows<Avx2Tile, kMR>, &activation_forward,
                                &activation_backward, &softmax_row,
                                &layer_norm_row, &layer_norm_backward_row,
                                &logit_loss_row, nullptr, &avx2_int8_kernels()};
  return set;
}

const KernelSet& avx2_vnni_kernel_set() {
  static const KernelSet set =
      with_int8_kernels(avx2_kernel_set(), "avx2-vnni", avx_vnni_int8_kernels());
  return set;
}
