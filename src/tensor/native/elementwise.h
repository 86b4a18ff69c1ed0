// The elementwise loops of a kernel set, included by each instruction-set translation unit so the
// compiler vectorizes them for that set's vector width.

#pragma once

#include <cfloat>

#include "kernel_set.h"
#include "vector_math.h"

namespace {

constexpr float kSqrtHalf = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kSqrt2OverPi = 0.79788456080286536f;

struct Gelu {
  static float value(float x) { return 0.5f * x * (1.0f + verf(x * kSqrtHalf)); }
  static float derivative(float x) {
    return 0.5f * (1.0f + verf(x * kSqrtHalf)) + x * kInvSqrt2Pi * vexp(-0.5f * x * x);
  }
};

struct Relu {
  static float value(float x) { return x > 0.0f ? x : 0.0f; }
  static float derivative(float x) { return x > 0.0f ? 1.0f : 0.0f; }
};

struct Silu {
  static float value(float x) { return x / (1.0f + vexp(-x)); }
  static float derivative(float x) {
    float s = 1.0f / (1.0f + vexp(-x));
    return s * (1.0f + x * (1.0f - s));
  }
};

struct GeluNew {
  static float inner(float x) { return kSqrt2OverPi * (x + 0.044715f * x * x * x); }
  static float value(float x) { return 0.5f * x * (1.0f + vtanh(inner(x))); }
  static float derivative(float x) {
    float t = vtanh(inner(x));
    return 0.5f * (1.0f + t) +
           0.5f * x * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * x * x);
  }
};

template <typename F>
void forward(const float* x, float* out, long n) {
#pragma omp simd
  for (long i = 0; i < n; ++i) out[i] = F::value(x[i]);
}

template <typename F>
void backward(const float* x, const float* d_out, float* dx, long n) {
#pragma omp simd
  for (long i = 0; i < n; ++i) dx[i] = F::derivative(x[i]) * d_out[i];
}

void activation_forward(Activation kind, const float* x, float* out, long n) {
  switch (kind) {
    case Activation::kGelu:
      return forward<Gelu>(x, out, n);
    case Activation::kRelu:
      return forward<Relu>(x, out, n);
    case Activation::kSilu:
      return forward<Silu>(x, out, n);
    case Activation::kGeluNew:
      return forward<GeluNew>(x, out, n);
  }
}

void activation_backward(Activation kind, const float* x, const float* d_out, float* dx, long n) {
  switch (kind) {
    case Activation::kGelu:
      return backward<Gelu>(x, d_out, dx, n);
    case Activation::kRelu:
      return backward<Relu>(x, d_out, dx, n);
    case Activation::kSilu:
      return backward<Silu>(x, d_out, dx, n);
    case Activation::kGeluNew:
      return backward<GeluNew>(x, d_out, dx, n);
  }
}

void softmax_row(float* row, const float* key_mask, long n, float scale) {
  float max = -FLT_MAX;
#pragma omp simd reduction(max : max)
  for (long j = 0; j < n; ++j) {
    row[j] = key_mask[j] == 0.0f ? -FLT_MAX : row[j] * scale;
    max = row[j] > max ? row[j] : max;
  }
  float total = 0.0f;
#pragma omp simd reduction(+ : total)
  for (long j = 0; j < n; ++j) {
    row[j] = vexp(row[j] - max);
    total += row[j];
  }
  const float inverse = 1.0f / total;
#pragma omp simd
  for (long j = 0; j < n; ++j) row[j] *= inverse;
}

}  // namespace
