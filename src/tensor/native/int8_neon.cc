// The arm64 int8 kernels with the dot-product extension (FEAT_DotProd, ARMv8.2: Apple M1 on,
// Graviton 2 on, Cortex-A55/A76 on): sdot multiplies four int8 pairs and adds them into each int32
// lane, exact. It is signed by signed, so A's unsigned values go in minus 128 and the epilogue
// corrects by 128 times each column's sum. A 4 x 16 tile: 16 accumulators, one vector of 16
// depths per row of A, and four of B per group of 4 depths. Compiled with +dotprod in its own
// translation unit; used only when the CPU reports the extension.

#include <arm_neon.h>

#include <cstring>

#include "int8.h"
#include "int8_scalar.h"

namespace {

constexpr int kMR = 4;
constexpr int kNR = 16;
constexpr int kDepthStep = 16;

void quantize_row(const float* x, long k, long kp, void* values, float* scale,
                  int32_t* zero_point) {
  auto* out = static_cast<int8_t*>(values);
  RowRange range = scan_row_range(x, k);
  for (long p = 0; p < k; ++p) out[p] = static_cast<int8_t>(quantize_value(x[p], range) - 128);
  // Past k, 0 in the product (B is zero there too).
  for (long p = k; p < kp; ++p) out[p] = 0;
  *scale = range.scale;
  *zero_point = range.zero_point;
}

// acc[r][j] += B's group g (columns 4j..4j+3, 4 depths each) . row r's depths 4g..4g+3.
template <int G>
inline __attribute__((always_inline)) void group_step(int32x4_t (&acc)[kMR][4],
                                                      const int8x16_t (&a)[kMR],
                                                      const int8_t* bp) {
  int8x16_t b0 = vld1q_s8(bp + G * 64);
  int8x16_t b1 = vld1q_s8(bp + G * 64 + 16);
  int8x16_t b2 = vld1q_s8(bp + G * 64 + 32);
  int8x16_t b3 = vld1q_s8(bp + G * 64 + 48);
  for (int r = 0; r < kMR; ++r) {
    acc[r][0] = vdotq_laneq_s32(acc[r][0], b0, a[r], G);
    acc[r][1] = vdotq_laneq_s32(acc[r][1], b1, a[r], G);
    acc[r][2] = vdotq_laneq_s32(acc[r][2], b2, a[r], G);
    acc[r][3] = vdotq_laneq_s32(acc[r][3], b3, a[r], G);
  }
}

void tile(int rows, int cols, long kp, const void* rows_of_a, long lda, const void* packed,
          const Int8Epilogue& e, float* c, long ldc) {
  const auto* a0 = static_cast<const int8_t*>(rows_of_a);
  const auto* bp = static_cast<const int8_t*>(packed);
  // Rows past the tile's read row 0 again; their results are not stored.
  const int8_t* row[kMR];
  for (int r = 0; r < kMR; ++r) row[r] = a0 + (r < rows ? r : 0) * lda;
  int32x4_t acc[kMR][4];
  for (int r = 0; r < kMR; ++r) {
    for (int j = 0; j < 4; ++j) acc[r][j] = vdupq_n_s32(0);
  }
  for (long p = 0; p < kp; p += kDepthStep) {
    int8x16_t a[kMR];
    for (int r = 0; r < kMR; ++r) a[r] = vld1q_s8(row[r] + p);
    group_step<0>(acc, a, bp);
    group_step<1>(acc, a, bp);
    group_step<2>(acc, a, bp);
    group_step<3>(acc, a, bp);
    bp += kDepthStep * kNR;
  }
  for (int r = 0; r < rows; ++r) {
    // The sums are of (q - 128) w: add back 128 times each column's sum with the zero point's.
    int32x4_t zero = vdupq_n_s32(e.a_zero[r] - 128);
    float32x4_t a_scale = vdupq_n_f32(e.a_scale[r]);
    float values[kNR];
    for (int j = 0; j < 4; ++j) {
      int32x4_t sum = vmlsq_s32(acc[r][j], zero, vld1q_s32(e.b_sum + 4 * j));
      float32x4_t scale = vmulq_f32(a_scale, vld1q_f32(e.b_scale + 4 * j));
      vst1q_f32(values + 4 * j, vmulq_f32(vcvtq_f32_s32(sum), scale));
    }
    float* out = c + r * ldc;
    for (int j = 0; j < cols; ++j) {
      float value = values[j];
      if (e.bias) value += e.bias[j];
      if (e.residual) value += e.residual[r * ldc + j];
      out[j] = value;
    }
  }
}

}  // namespace

const Int8Kernels& neon_dotprod_int8_kernels() {
  static const Int8Kernels kernels = {"neon-dotprod", kMR, kNR, 1, 1, 4, kDepthStep,
                                      &tile, &quantize_row};
  return kernels;
}
