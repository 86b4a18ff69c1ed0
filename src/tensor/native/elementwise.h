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

void layer_norm_row(const float* x, const float* gamma, const float* beta, float* out, long dim,
                    float eps, float* mean, float* rstd) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (long i = 0; i < dim; ++i) sum += x[i];
  const float mu = sum / static_cast<float>(dim);
  float squares = 0.0f;
#pragma omp simd reduction(+ : squares)
  for (long i = 0; i < dim; ++i) squares += (x[i] - mu) * (x[i] - mu);
  const float s = 1.0f / std::sqrt(squares / static_cast<float>(dim) + eps);
  *mean = mu;
  *rstd = s;
#pragma omp simd
  for (long i = 0; i < dim; ++i) out[i] = (x[i] - mu) * s * gamma[i] + beta[i];
}

void layer_norm_backward_row(const float* d_out, const float* x, const float* gamma, float mean,
                             float rstd, float* dx, float* d_gamma, float* d_beta, long dim) {
  // dx holds g = dOut * gamma between the two loops, so both loops use the same rounded g (a
  // fused multiply-add in one and not the other would leave rstd-amplified noise where the
  // result should cancel to zero).
  float sum_g = 0.0f;
  float sum_gx = 0.0f;
#pragma omp simd reduction(+ : sum_g, sum_gx)
  for (long i = 0; i < dim; ++i) {
    const float x_hat = (x[i] - mean) * rstd;
    const float g = d_out[i] * gamma[i];
    sum_g += g;
    sum_gx += g * x_hat;
    d_gamma[i] += d_out[i] * x_hat;
    d_beta[i] += d_out[i];
    dx[i] = g;
  }
  const float mean_g = sum_g / static_cast<float>(dim);
  const float mean_gx = sum_gx / static_cast<float>(dim);
#pragma omp simd
  for (long i = 0; i < dim; ++i) {
    const float x_hat = (x[i] - mean) * rstd;
    dx[i] = rstd * (dx[i] - mean_g - x_hat * mean_gx);
  }
}

}  // namespace
