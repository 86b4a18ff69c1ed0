// What the 256-bit x86 int8 kernel sets share (AVX2 with vpmaddwd, AVX-VNNI): one row of A
// quantized (int8.h's quantize_row), its values 0..255 as Out, int16_t (pairs for vpmaddwd) or
// uint8_t (quads for the VNNI dot products); and the 6 x 16 tile around a set's depth loop, with
// its epilogue (two ymm columns a row).
// Included by translation units compiled with -mavx2.

#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "int8.h"
#include "int8_scalar.h"

namespace {

inline float horizontal_min(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

inline float horizontal_max(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

template <typename Out>
void quantize_row_avx2(const float* x, long k, long kp, void* values, float* scale,
                       int32_t* zero_point) {
  static_assert(std::is_same_v<Out, int16_t> || std::is_same_v<Out, uint8_t>);
  auto* out = static_cast<Out*>(values);
  __m256 lo8 = _mm256_setzero_ps();
  __m256 hi8 = _mm256_setzero_ps();
  long p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 v = _mm256_loadu_ps(x + p);
    lo8 = _mm256_min_ps(lo8, v);
    hi8 = _mm256_max_ps(hi8, v);
  }
  float lo = horizontal_min(lo8);
  float hi = horizontal_max(hi8);
  for (; p < k; ++p) {
    lo = std::min(lo, x[p]);
    hi = std::max(hi, x[p]);
  }
  RowRange range = row_range(lo, hi);
  __m256 inverse = _mm256_set1_ps(range.inverse);
  __m256i zero = _mm256_set1_epi32(range.zero_point);
  __m256i top = _mm256_set1_epi32(255);
  for (p = 0; p + 8 <= k; p += 8) {
    // cvtps rounds to nearest even, as std::nearbyint in the scalar tail.
    __m256i q = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + p), inverse));
    q = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(q, zero), _mm256_setzero_si256()), top);
    __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    if constexpr (std::is_same_v<Out, int16_t>) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + p), words);
    } else {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(out + p), _mm_packus_epi16(words, words));
    }
  }
  for (; p < k; ++p) out[p] = static_cast<Out>(quantize_value(x[p], range));
  for (; p < kp; ++p) out[p] = 0;
  *scale = range.scale;
  *zero_point = range.zero_point;
}

// C[ROWS, cols <= 16] from a tile's int32 sums, as src/tensor/int8.ts finishes them.
template <int ROWS>
inline __attribute__((always_inline)) void store_int8_tile_avx2(const __m256i (&acc)[ROWS][2],
                                                                int cols, const Int8Epilogue& e,
                                                                float* c, long ldc) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i mask0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), lanes);
  __m256i mask1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols - 8), lanes);
  __m256i sum0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.b_sum));
  __m256i sum1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.b_sum + 8));
  __m256 scale0 = _mm256_loadu_ps(e.b_scale);
  __m256 scale1 = _mm256_loadu_ps(e.b_scale + 8);
  __m256 bias0 = e.bias ? _mm256_maskload_ps(e.bias, mask0) : _mm256_setzero_ps();
  __m256 bias1 = e.bias ? _mm256_maskload_ps(e.bias + 8, mask1) : _mm256_setzero_ps();
  #pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
    __m256i zero = _mm256_set1_epi32(e.a_zero[r]);
    __m256 a_scale = _mm256_set1_ps(e.a_scale[r]);
    __m256i i0 = _mm256_sub_epi32(acc[r][0], _mm256_mullo_epi32(zero, sum0));
    __m256i i1 = _mm256_sub_epi32(acc[r][1], _mm256_mullo_epi32(zero, sum1));
    __m256 v0 = _mm256_mul_ps(_mm256_cvtepi32_ps(i0), _mm256_mul_ps(a_scale, scale0));
    __m256 v1 = _mm256_mul_ps(_mm256_cvtepi32_ps(i1), _mm256_mul_ps(a_scale, scale1));
    v0 = _mm256_add_ps(v0, bias0);
    v1 = _mm256_add_ps(v1, bias1);
    float* row = c + r * ldc;
    if (e.residual) {
      const float* res = e.residual + r * ldc;
      v0 = _mm256_add_ps(v0, _mm256_maskload_ps(res, mask0));
      v1 = _mm256_add_ps(v1, _mm256_maskload_ps(res + 8, mask1));
    }
    if (cols == 16) {
      _mm256_storeu_ps(row, v0);
      _mm256_storeu_ps(row + 8, v1);
    } else {
      _mm256_maskstore_ps(row, mask0, v0);
      _mm256_maskstore_ps(row + 8, mask1, v1);
    }
  }
}

template <int ROWS>
void store_rows(const __m256i (&acc)[6][2], int cols, const Int8Epilogue& e, float* c, long ldc) {
  store_int8_tile_avx2<ROWS>(reinterpret_cast<const __m256i(&)[ROWS][2]>(acc), cols, e, c, ldc);
}

// A 6 x 16 tile of a 256-bit set: its depth loop Steps (all 6 rows of A, `stride` bytes apart,
// into 12 accumulators), then the epilogue for the tile's own rows. A's elements are Element.
template <typename Element,
          void (*Steps)(long kp, const Element* a, long stride, const int8_t* bp, __m256i* acc)>
void tile_6x16(int rows, int cols, long kp, const void* a, long lda, const void* bp,
               const Int8Epilogue& e, float* c, long ldc) {
  __m256i acc[6][2];
  Steps(kp, static_cast<const Element*>(a), lda * static_cast<long>(sizeof(Element)),
        static_cast<const int8_t*>(bp), &acc[0][0]);
  using Store = void (*)(const __m256i (&)[6][2], int, const Int8Epilogue&, float*, long);
  static constexpr Store finish[6] = {
      &store_rows<1>, &store_rows<2>, &store_rows<3>, &store_rows<4>, &store_rows<5>, &store_rows<6>};
  finish[rows - 1](acc, cols, e, c, ldc);
}

}  // namespace
