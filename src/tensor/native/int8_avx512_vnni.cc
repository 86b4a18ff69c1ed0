// The int8 kernels on AVX512-VNNI (Intel Cascade Lake and later Xeons, Ice Lake, AMD Zen 4 and 5):
// vpdpbusd on zmm registers, four unsigned bytes of A times four signed bytes of B summed into each
// of 16 int32 lanes, exact for 255 x 127 x 4; A's quantized values go in as they are (0..255, the
// zero point corrected in the epilogue). A 12 x 32 tile: 24 accumulators, 2 vectors of B
// (16 columns x 4 depths each) and six registers for the broadcast A quads: all 32 zmm registers;
// column edges with mask registers; activations quantized 16 at a time. Compiled with -mavx512f
// -mavx512bw -mavx512vl -mavx512vnni; used only when the CPU reports all four (every AVX512-VNNI
// CPU has the other three).

#include <immintrin.h>

#include "int8.h"
#include "int8_scalar.h"
#include "kernel_set.h"

namespace {

constexpr int kMR = 12;
constexpr int kNR = 32;
constexpr int kDepthGroup = 4;

__mmask16 column_mask(int valid) {
  if (valid >= 16) return 0xFFFF;
  if (valid <= 0) return 0;
  return static_cast<__mmask16>((1u << valid) - 1);
}

// One row of A to u8 values (int8.h's quantize_row) 16 at a time, the tail under a mask: its
// zeros leave the range, which always holds 0, as it is.
void quantize_row(const float* x, long k, long kp, void* values, float* scale,
                  int32_t* zero_point) {
  auto* out = static_cast<uint8_t*>(values);
  __m512 lo16 = _mm512_setzero_ps();
  __m512 hi16 = _mm512_setzero_ps();
  for (long p = 0; p < k; p += 16) {
    __m512 v = _mm512_maskz_loadu_ps(column_mask(static_cast<int>(k - p)), x + p);
    lo16 = _mm512_min_ps(lo16, v);
    hi16 = _mm512_max_ps(hi16, v);
  }
  RowRange range = row_range(_mm512_reduce_min_ps(lo16), _mm512_reduce_max_ps(hi16));
  __m512 inverse = _mm512_set1_ps(range.inverse);
  __m512i zero = _mm512_set1_epi32(range.zero_point);
  __m512i top = _mm512_set1_epi32(255);
  for (long p = 0; p < k; p += 16) {
    __mmask16 mask = column_mask(static_cast<int>(k - p));
    // cvtps rounds to nearest even, as the reference does.
    __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + p), inverse));
    q = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, zero), _mm512_setzero_si512()), top);
    _mm_mask_storeu_epi8(out + p, mask, _mm512_cvtepi32_epi8(q));
  }
  for (long p = k; p < kp; ++p) out[p] = 0;
  *scale = range.scale;
  *zero_point = range.zero_point;
}

// C[ROWS, cols] from the tile's int32 sums, as src/tensor/int8.ts finishes them.
template <int ROWS>
inline __attribute__((always_inline)) void store_tile(const __m512i (&acc)[ROWS][2], int cols,
                                                      const Int8Epilogue& e, float* c,
                                                      long ldc) {
  __mmask16 mask0 = column_mask(cols);
  __mmask16 mask1 = column_mask(cols - 16);
  __m512i sum0 = _mm512_loadu_si512(e.b_sum);
  __m512i sum1 = _mm512_loadu_si512(e.b_sum + 16);
  __m512 scale0 = _mm512_loadu_ps(e.b_scale);
  __m512 scale1 = _mm512_loadu_ps(e.b_scale + 16);
  __m512 bias0 = e.bias ? _mm512_maskz_loadu_ps(mask0, e.bias) : _mm512_setzero_ps();
  __m512 bias1 = e.bias ? _mm512_maskz_loadu_ps(mask1, e.bias + 16) : _mm512_setzero_ps();
  #pragma GCC unroll 16
  for (int r = 0; r < ROWS; ++r) {
    __m512i zero = _mm512_set1_epi32(e.a_zero[r]);
    __m512 a_scale = _mm512_set1_ps(e.a_scale[r]);
    __m512i i0 = _mm512_sub_epi32(acc[r][0], _mm512_mullo_epi32(zero, sum0));
    __m512i i1 = _mm512_sub_epi32(acc[r][1], _mm512_mullo_epi32(zero, sum1));
    __m512 v0 = _mm512_mul_ps(_mm512_cvtepi32_ps(i0), _mm512_mul_ps(a_scale, scale0));
    __m512 v1 = _mm512_mul_ps(_mm512_cvtepi32_ps(i1), _mm512_mul_ps(a_scale, scale1));
    v0 = _mm512_add_ps(v0, bias0);
    v1 = _mm512_add_ps(v1, bias1);
    float* row = c + r * ldc;
    if (e.residual) {
      const float* res = e.residual + r * ldc;
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask0, res));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask1, res + 16));
    }
    _mm512_mask_storeu_ps(row, mask0, v0);
    _mm512_mask_storeu_ps(row + 16, mask1, v1);
  }
}

// The tile's depth loop in assembly: GCC, given vpdpbusd as intrinsics on an array of
// accumulators, copied and spilled them on every step. Always 12 rows of A, `stride` bytes apart
// (gemm_int8_parallel pads A to whole tiles); acc[r][0..1] the sums of row r. B is prefetched
// kPrefetchAheadBytes ahead (kernel_set.h says why).
void steps_12x32(long kp, const uint8_t* a, long stride, const int8_t* bp, __m512i acc[24]) {
  const uint8_t* a3 = a + 3 * stride;
  const uint8_t* a6 = a + 6 * stride;
  const uint8_t* a9 = a + 9 * stride;
  const uint8_t* end = a + kp;
  // zmm0-23: the accumulators (row r in zmm 2r, 2r + 1); zmm24-25: B; zmm26-31: A, in turn.
  asm volatile(
#define ZERO(r) "vpxord %%zmm" #r ", %%zmm" #r ", %%zmm" #r "\n\t"
      ZERO(0) ZERO(1) ZERO(2) ZERO(3) ZERO(4) ZERO(5) ZERO(6) ZERO(7)
      ZERO(8) ZERO(9) ZERO(10) ZERO(11) ZERO(12) ZERO(13) ZERO(14) ZERO(15)
      ZERO(16) ZERO(17) ZERO(18) ZERO(19) ZERO(20) ZERO(21) ZERO(22) ZERO(23)
#undef ZERO
      "1:\n\t"
      "vmovdqa64 (%[b]), %%zmm24\n\t"
      "vmovdqa64 64(%[b]), %%zmm25\n\t"
      "prefetcht0 %c[ahead](%[b])\n\t"
      "prefetcht0 %c[ahead_next](%[b])\n\t"
#define ROW(address, a, lo, hi)                             \
      "vpbroadcastd " address ", %%zmm" #a "\n\t"           \
      "vpdpbusd %%zmm24, %%zmm" #a ", %%zmm" #lo "\n\t"     \
      "vpdpbusd %%zmm25, %%zmm" #a ", %%zmm" #hi "\n\t"
      ROW("(%[a0])", 26, 0, 1)
      ROW("(%[a0],%[s],1)", 27, 2, 3)
      ROW("(%[a0],%[s],2)", 28, 4, 5)
      ROW("(%[a3])", 29, 6, 7)
      ROW("(%[a0],%[s],4)", 30, 8, 9)
      ROW("(%[a3],%[s],2)", 31, 10, 11)
      ROW("(%[a6])", 26, 12, 13)
      ROW("(%[a3],%[s],4)", 27, 14, 15)
      ROW("(%[a0],%[s],8)", 28, 16, 17)
      ROW("(%[a9])", 29, 18, 19)
      ROW("(%[a6],%[s],4)", 30, 20, 21)
      ROW("(%[a3],%[s],8)", 31, 22, 23)
#undef ROW
      "addq $128, %[b]\n\t"
      "addq $4, %[a0]\n\t"
      "addq $4, %[a3]\n\t"
      "addq $4, %[a6]\n\t"
      "addq $4, %[a9]\n\t"
      "cmpq %[end], %[a0]\n\t"
      "jb 1b\n\t"
#define STORE(r) "vmovdqu64 %%zmm" #r ", " #r "*64(%[acc])\n\t"
      STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
      STORE(8) STORE(9) STORE(10) STORE(11) STORE(12) STORE(13) STORE(14) STORE(15)
      STORE(16) STORE(17) STORE(18) STORE(19) STORE(20) STORE(21) STORE(22) STORE(23)
#undef STORE
      : [a0] "+r"(a), [a3] "+r"(a3), [a6] "+r"(a6), [a9] "+r"(a9), [b] "+r"(bp)
      : [s] "r"(stride), [end] "r"(end), [acc] "r"(acc), [ahead] "i"(kPrefetchAheadBytes),
        [ahead_next] "i"(kPrefetchAheadBytes + 64)
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",
        "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30",
        "xmm31", "cc", "memory");
}

template <int ROWS>
void finish(const __m512i (&acc)[kMR][2], int cols, const Int8Epilogue& e, float* c, long ldc) {
  store_tile<ROWS>(reinterpret_cast<const __m512i(&)[ROWS][2]>(acc), cols, e, c, ldc);
}

void tile(int rows, int cols, long kp, const void* a, long lda, const void* bp,
          const Int8Epilogue& e, float* c, long ldc) {
  __m512i acc[kMR][2];
  steps_12x32(kp, static_cast<const uint8_t*>(a), lda, static_cast<const int8_t*>(bp), &acc[0][0]);
  using Fn = void (*)(const __m512i (&)[kMR][2], int, const Int8Epilogue&, float*, long);
  static constexpr Fn table[kMR] = {&finish<1>, &finish<2>,  &finish<3>,  &finish<4>,
                                    &finish<5>, &finish<6>,  &finish<7>,  &finish<8>,
                                    &finish<9>, &finish<10>, &finish<11>, &finish<12>};
  table[rows - 1](acc, cols, e, c, ldc);
}

}  // namespace

const Int8Kernels& avx512_vnni_int8_kernels() {
  static const Int8Kernels kernels = {
      "avx512-vnni", kMR, kNR, 1, 1, kDepthGroup, kDepthGroup, &tile, &quantize_row};
  return kernels;
}
