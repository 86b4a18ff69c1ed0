// The portable int8 kernels in plain C++, for CPUs without a vector set of their own.

#include <cstring>

#include "int8.h"
#include "int8_scalar.h"

namespace {

constexpr int kMR = 4;
constexpr int kNR = 16;

void quantize_row(const float* x, long k, long kp, void* values, float* scale,
                  int32_t* zero_point) {
  auto* out = static_cast<int16_t*>(values);
  RowRange range = scan_row_range(x, k);
  for (long p = 0; p < k; ++p) out[p] = quantize_value(x[p], range);
  for (long p = k; p < kp; ++p) out[p] = 0;
  *scale = range.scale;
  *zero_point = range.zero_point;
}

void tile(int rows, int cols, long kp, const void* rows_of_a, long lda, const void* packed,
          const Int8Epilogue& e, float* c, long ldc) {
  const auto* a = static_cast<const int16_t*>(rows_of_a);
  const int8_t* bp = static_cast<const int8_t*>(packed);
  int32_t acc[kMR][kNR] = {};
  for (long p = 0; p < kp; p += 2) {
    const int8_t* b = bp + p * kNR;
    for (int r = 0; r < rows; ++r) {
      int32_t a0 = a[r * lda + p];
      int32_t a1 = a[r * lda + p + 1];
      for (int j = 0; j < kNR; ++j) acc[r][j] += a0 * b[2 * j] + a1 * b[2 * j + 1];
    }
  }
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < cols; ++j) {
      float sum = static_cast<float>(acc[r][j] - e.a_zero[r] * e.b_sum[j]);
      float value = sum * (e.a_scale[r] * e.b_scale[j]);
      if (e.bias) value += e.bias[j];
      if (e.residual) value += e.residual[r * ldc + j];
      c[r * ldc + j] = value;
    }
  }
}

}  // namespace

const Int8Kernels& generic_int8_kernels() {
  static const Int8Kernels kernels = {"generic", kMR, kNR, 2, 1, 2, 4, &tile, &quantize_row};
  return kernels;
}
