// The AVX2 int8 kernels. AVX2 has no 8-bit dot product that cannot saturate (vpmaddubsw's int16
// pair sums overflow for 255 x 127 x 2), so both operands are widened to int16 and multiplied with
// vpmaddwd, exact, two depths a lane: the same multiplies per instruction as vpmaddubsw followed
// by the vpmaddwd every saturating scheme needs to reach int32. B stays int8 in its panels and is
// widened as it is loaded: packing it as int16 made tiles on cached weights 10-20% faster but whole
// models no faster (their weights come from memory, twice the bytes), at twice the memory.
// Compiled with -mavx2 -mfma.

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "int8.h"
#include "int8_scalar.h"

namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

__m256i column_mask(int valid) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

float horizontal_min(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

float horizontal_max(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

void quantize_row(const float* x, long k, long kp, void* values, float* scale,
                  int32_t* zero_point) {
  auto* out = static_cast<int16_t*>(values);
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
    __m128i packed = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + p), packed);
  }
  for (; p < k; ++p) out[p] = quantize_value(x[p], range);
  for (; p < kp; ++p) out[p] = 0;
  *scale = range.scale;
  *zero_point = range.zero_point;
}

// One row's step: two madds (8 columns x 2 depths each) into its two accumulators.
#define INT8_ROW_STEP(r)                                              \
  if (ROWS > r) {                                                     \
    int32_t pair;                                                     \
    std::memcpy(&pair, a + r * lda + p, sizeof pair);                 \
    __m256i av = _mm256_set1_epi32(pair);                             \
    acc##r##0 = _mm256_add_epi32(acc##r##0, _mm256_madd_epi16(av, b0)); \
    acc##r##1 = _mm256_add_epi32(acc##r##1, _mm256_madd_epi16(av, b1)); \
  }

// The full 6-row tile's depth loop in assembly: its 12 accumulators, 2 B vectors, the broadcast A
// pair and the product take all 16 ymm registers, and GCC, given the same in intrinsics, spilled
// accumulators to the stack on every step (0.6x the speed). a: the 6 rows, `stride` bytes apart.
void int8_steps_6x16(long kp, const int16_t* a, long stride, const int8_t* bp, __m256i acc[12]) {
  const char* a0 = reinterpret_cast<const char*>(a);
  const char* a3 = a0 + 3 * stride;
  const char* end = a0 + kp * static_cast<long>(sizeof(int16_t));
  // ymm0-11: the accumulators (row r in ymm 2r, 2r + 1); ymm12-13: B; ymm14: A; ymm15: product.
  asm volatile(
#define ZERO(r) "vpxor %%xmm" #r ", %%xmm" #r ", %%xmm" #r "\n\t"
      ZERO(0) ZERO(1) ZERO(2) ZERO(3) ZERO(4) ZERO(5)
      ZERO(6) ZERO(7) ZERO(8) ZERO(9) ZERO(10) ZERO(11)
#undef ZERO
      "1:\n\t"
      "vpmovsxbw (%[b]), %%ymm12\n\t"
      "vpmovsxbw 16(%[b]), %%ymm13\n\t"
#define ROW(address, lo, hi)                      \
      "vpbroadcastd " address ", %%ymm14\n\t"   \
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\t"  \
      "vpaddd %%ymm15, %%ymm" #lo ", %%ymm" #lo "\n\t" \
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n\t"  \
      "vpaddd %%ymm15, %%ymm" #hi ", %%ymm" #hi "\n\t"
      ROW("(%[a0])", 0, 1)
      ROW("(%[a0],%[s],1)", 2, 3)
      ROW("(%[a0],%[s],2)", 4, 5)
      ROW("(%[a3])", 6, 7)
      ROW("(%[a0],%[s],4)", 8, 9)
      ROW("(%[a3],%[s],2)", 10, 11)
#undef ROW
      "addq $32, %[b]\n\t"
      "addq $4, %[a0]\n\t"
      "addq $4, %[a3]\n\t"
      "cmpq %[end], %[a0]\n\t"
      "jb 1b\n\t"
#define STORE(r) "vmovdqu %%ymm" #r ", " #r "*32(%[acc])\n\t"
      STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
      STORE(6) STORE(7) STORE(8) STORE(9) STORE(10) STORE(11)
#undef STORE
      : [a0] "+r"(a0), [a3] "+r"(a3), [b] "+r"(bp)
      : [s] "r"(stride), [end] "r"(end), [acc] "r"(acc)
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
}

template <int ROWS>
struct Avx2Int8Tile {
  static void run(int cols, long kp, const int16_t* a, long lda, const void* packed,
                  const Int8Epilogue& e, float* c, long ldc) {
    const int8_t* bp = static_cast<const int8_t*>(packed);
    __m256i acc[kMR][2];
    if (ROWS == kMR) {
      int8_steps_6x16(kp, a, lda * static_cast<long>(sizeof(int16_t)), bp, &acc[0][0]);
    } else {
      #pragma GCC unroll 8
      for (int r = 0; r < ROWS; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
      for (long p = 0; p < kp; p += 2) {
        __m256i b0 = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(bp)));
        __m256i b1 =
            _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(bp + 16)));
        #pragma GCC unroll 8
        for (int r = 0; r < ROWS; ++r) {
          int32_t pair;
          std::memcpy(&pair, a + r * lda + p, sizeof pair);
          __m256i av = _mm256_set1_epi32(pair);
          acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, b0));
          acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, b1));
        }
        bp += 2 * kNR;
      }
    }
    __m256i mask0 = column_mask(cols);
    __m256i mask1 = column_mask(cols - 8);
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
      if (cols == kNR) {
        _mm256_storeu_ps(row, v0);
        _mm256_storeu_ps(row + 8, v1);
      } else {
        _mm256_maskstore_ps(row, mask0, v0);
        _mm256_maskstore_ps(row + 8, mask1, v1);
      }
    }
  }
};

void tile(int rows, int cols, long kp, const void* a, long lda, const void* bp,
          const Int8Epilogue& e, float* c, long ldc) {
  using Fn = void (*)(int, long, const int16_t*, long, const void*, const Int8Epilogue&, float*,
                      long);
  static constexpr Fn table[kMR] = {&Avx2Int8Tile<1>::run, &Avx2Int8Tile<2>::run,
                                    &Avx2Int8Tile<3>::run, &Avx2Int8Tile<4>::run,
                                    &Avx2Int8Tile<5>::run, &Avx2Int8Tile<6>::run};
  table[rows - 1](cols, kp, static_cast<const int16_t*>(a), lda, bp, e, c, ldc);
}

}  // namespace

const Int8Kernels& avx2_int8_kernels() {
  static const Int8Kernels kernels = {"avx2", kMR, kNR, 2, 1, 2, 4, &tile, &quantize_row};
  return kernels;
}
