// The AVX-512 kernel set: a 12 x 32 matrix-multiply tile held in 24 zmm accumulators (column
// edges handled with mask registers), and the elementwise loops at 16 floats a vector. Compiled
// with -mavx512f in its own translation unit; used only when the CPU has AVX-512F.

#include <immintrin.h>

#include "elementwise.h"
#include "kernel_set.h"
#include "tile.h"

namespace {

constexpr int kMR = 12;
constexpr int kNR = 32;

__mmask16 column_mask(int valid) {
  if (valid >= 16) return 0xFFFF;
  if (valid <= 0) return 0;
  return static_cast<__mmask16>((1u << valid) - 1);
}

// The two lines of B's panel kPrefetchAheadBytes ahead of this step's (kernel_set.h says why).
inline __attribute__((always_inline)) void prefetch_ahead(const float* bp) {
  const char* ahead = reinterpret_cast<const char*>(bp) + kPrefetchAheadBytes;
  _mm_prefetch(ahead, _MM_HINT_T0);
  _mm_prefetch(ahead + 64, _MM_HINT_T0);
}

// C[ROWS, cols] (+)= acc (+ bias).
template <int ROWS>
inline __attribute__((always_inline)) void store_tile(__m512 (&acc)[ROWS][2], int cols,
                                                      float* c, long ldc, bool load,
                                                      const float* bias) {
  __mmask16 mask0 = column_mask(cols);
  __mmask16 mask1 = column_mask(cols - 16);
  __m512 bias0 = bias ? _mm512_maskz_loadu_ps(mask0, bias) : _mm512_setzero_ps();
  __m512 bias1 = bias ? _mm512_maskz_loadu_ps(mask1, bias + 16) : _mm512_setzero_ps();
  #pragma GCC unroll 16
  for (int r = 0; r < ROWS; ++r) {
    float* row = c + r * ldc;
    __m512 v0 = _mm512_add_ps(acc[r][0], bias0);
    __m512 v1 = _mm512_add_ps(acc[r][1], bias1);
    if (load) {
      v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(mask0, row), v0);
      v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(mask1, row + 16), v1);
    }
    _mm512_mask_storeu_ps(row, mask0, v0);
    _mm512_mask_storeu_ps(row + 16, mask1, v1);
  }
}

template <int ROWS>
struct Avx512Tile {
  static void run(int cols, long k, const float* ap, const float* bp, float* c, long ldc,
                  bool load, const float* bias) {
    __m512 acc[ROWS][2];
    #pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (long p = 0; p < k; ++p) {
      __m512 b0 = _mm512_load_ps(bp);
      __m512 b1 = _mm512_load_ps(bp + 16);
      prefetch_ahead(bp);
      #pragma GCC unroll 16
      for (int r = 0; r < ROWS; ++r) {
        __m512 a = _mm512_set1_ps(ap[r]);
        acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
      }
      ap += kMR;
      bp += kNR;
    }
    store_tile<ROWS>(acc, cols, c, ldc, load, bias);
  }
};

// The same tile reading A where it lies, row r at a + r * lda: broadcasting from a dozen rows
// runs as fast as from a packed panel, and packing is skipped.
template <int ROWS>
struct Avx512TileInPlace {
  static void run(int cols, long k, const float* a, long lda, const float* bp, float* c,
                  long ldc, bool load, const float* bias) {
    __m512 acc[ROWS][2];
    #pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (long p = 0; p < k; ++p) {
      __m512 b0 = _mm512_load_ps(bp);
      __m512 b1 = _mm512_load_ps(bp + 16);
      prefetch_ahead(bp);
      #pragma GCC unroll 16
      for (int r = 0; r < ROWS; ++r) {
        __m512 av = _mm512_set1_ps(a[r * lda + p]);
        acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
      }
      bp += kNR;
    }
    store_tile<ROWS>(acc, cols, c, ldc, load, bias);
  }
};

}  // namespace

const KernelSet& avx512_kernel_set() {
  static const KernelSet set = {"avx512", kMR, kNR, 96, 768, 1024,
                                &tile_any_rows<Avx512Tile, kMR>, &activation_forward,
                                &activation_backward, &softmax_row,
                                &layer_norm_row, &layer_norm_backward_row,
                                &logit_loss_row,
                                &tile_any_rows_in_place<Avx512TileInPlace, kMR>,
                                // Every AVX-512 CPU has AVX2.
                                &avx2_int8_kernels()};
  return set;
}

const KernelSet& avx512_vnni_kernel_set() {
  static const KernelSet set =
      with_int8_kernels(avx512_kernel_set(), "avx512-vnni", avx512_vnni_int8_kernels());
  return set;
}
