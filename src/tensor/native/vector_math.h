// exp, erf and tanh in float32 written so compilers vectorize loops that call them (no libm
// calls; the selects become vector blends given -fno-trapping-math). Accuracy: exp within 2 ulp;
// erf within 4e-7 relative; tanh within about 2e-7 absolute (float32 holds 6e-8 near 1).

#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

// Each instruction-set translation unit compiles its own copy (internal linkage), so the linker
// never mixes an AVX-512 build of these into portable code.
// Forced inline: a call left in a loop stops the loop from being vectorized.
#define VECTOR_MATH inline __attribute__((always_inline))

namespace {

VECTOR_MATH float bits_to_float(int32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// exp(x) = 2^n exp(r) with n = round(x / ln 2) and |r| <= ln(2) / 2. Underflows to exactly 0
// below -87 (as the softmax needs for masked scores) and saturates near 1.7e38 above 88.
VECTOR_MATH float vexp(float x) {
  const float clamped = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer.
  const float round_magic = 12582912.0f;
  const float n = (clamped * 1.44269504088896341f + round_magic) - round_magic;
  // ln 2 split in two so n * ln2_high is exact (Cody and Waite).
  const float r = (clamped - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float result = p * bits_to_float((static_cast<int32_t>(n) + 127) << 23);
  return x < -87.0f ? 0.0f : result;
}

// erf(x) = z P(z^2) / Q(z^2) for z = |x| up to 3.92 (beyond, erf is 1 in float32), with the sign
// of x: a rational fit of degree 5 over 5 made for this file (least squares on the relative error,
// reweighted towards minimax, over [0, 3.92]): 3.8e-7 relative in float32, a dozen FMAs and a
// division, a third of the time of the erfc-times-exp form the TypeScript reference uses
// (src/tensor/math.ts), in which GELU spent most of its time.
VECTOR_MATH float verf(float x) {
  const float magnitude = std::fabs(x);
  const float z = magnitude > 3.92f ? 3.92f : magnitude;  // NaN stays NaN
  const float t = z * z;
  float p = 2.05040578e-06f;
  p = p * t + 0.000284873182f;
  p = p * t + 0.0037646878f;
  p = p * t + 0.0527458489f;
  p = p * t + 0.190383255f;
  p = p * t + 1.12837911f;
  float q = 3.80945348e-05f;
  q = q * t + 0.00116233237f;
  q = q * t + 0.0149673307f;
  q = q * t + 0.114099704f;
  q = q * t + 0.502055526f;
  q = q * t + 1.0f;
  const float value = z * p / q;
  return std::copysign(value > 1.0f ? 1.0f : value, x);
}

// tanh(x) = 1 - 2 / (exp(2x) + 1), with the sign folded so exp never overflows.
VECTOR_MATH float vtanh(float x) {
  const float magnitude = 1.0f - 2.0f / (vexp(2.0f * std::fabs(x)) + 1.0f);
  return std::copysign(magnitude, x);
}

}  // namespace
