// exp, erf and tanh in float32 written so compilers vectorize loops that call them (no libm
// calls; the selects become vector blends given -fno-trapping-math). Accuracy: exp within 2 ulp; erf and tanh within about 2e-7 absolute,
// which is what float32 can hold near 1.

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

// erf(x) = 1 - erfc(|x|) with the sign of x, erfc from the Chebyshev fit the TypeScript
// reference uses (src/tensor/math.ts).
VECTOR_MATH float verf(float x) {
  const float z = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.5f * z);
  float poly = 0.17087277f;
  poly = poly * t - 0.82215223f;
  poly = poly * t + 1.48851587f;
  poly = poly * t - 1.13520398f;
  poly = poly * t + 0.27886807f;
  poly = poly * t - 0.18628806f;
  poly = poly * t + 0.09678418f;
  poly = poly * t + 0.37409196f;
  poly = poly * t + 1.00002368f;
  const float erfc = t * vexp(-z * z - 1.26551223f + t * poly);
  return std::copysign(1.0f - erfc, x);
}

// tanh(x) = 1 - 2 / (exp(2x) + 1), with the sign folded so exp never overflows.
VECTOR_MATH float vtanh(float x) {
  const float magnitude = 1.0f - 2.0f / (vexp(2.0f * std::fabs(x)) + 1.0f);
  return std::copysign(magnitude, x);
}

}  // namespace
