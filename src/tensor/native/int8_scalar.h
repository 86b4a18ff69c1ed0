// The scalar pieces of the int8 products: quantizing one value of a row (the vector versions round
// the same way: to nearest, ties to even, as the default floating-point environment does) and a
// row's range.

#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace {

struct RowRange {
  float scale;
  float inverse;
  int32_t zero_point;
};

// The scale, its inverse and the zero point of a row whose values lie in [lo, hi] (0 included).
inline RowRange row_range(float lo, float hi) {
  float scale = (hi - lo) / 255.0f;
  float inverse = scale == 0.0f ? 0.0f : 1.0f / scale;
  float zero = std::nearbyint(-lo * inverse);
  return {scale, inverse, static_cast<int32_t>(std::min(255.0f, std::max(0.0f, zero)))};
}

// The same for x[0 .. k), scanned in order (the vector kernels find lo and hi their own way).
inline RowRange scan_row_range(const float* x, long k) {
  float lo = 0.0f;
  float hi = 0.0f;
  for (long p = 0; p < k; ++p) {
    lo = std::min(lo, x[p]);
    hi = std::max(hi, x[p]);
  }
  return row_range(lo, hi);
}

inline int16_t quantize_value(float x, const RowRange& r) {
  int32_t q = static_cast<int32_t>(std::nearbyint(x * r.inverse)) + r.zero_point;
  return static_cast<int16_t>(std::min(255, std::max(0, q)));
}

}  // namespace
