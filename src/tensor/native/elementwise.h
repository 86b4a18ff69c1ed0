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

void logit_loss_row(const float* s, const float* t, bool soft, long label, float* d,
                    float* scratch, long n, const LogitLossScales& scales, float* losses) {
  // Sums in double: a float sum over a 30k vocabulary would carry ~1e-5 relative error.
  double ce = 0.0;
  double mlm = 0.0;
  double mse = 0.0;
#pragma omp simd
  for (long v = 0; v < n; ++v) d[v] = 0.0f;
  if (soft && scales.ce_scale != 0.0f) {
    // KL(pt || ps) = sum pt (t - s) / T + lse(s/T) - lse(t/T); d/ds of T^2 KL = T (ps - pt).
    const float inv_t = 1.0f / scales.temperature;
    float max_s = -FLT_MAX;
    float max_t = -FLT_MAX;
#pragma omp simd reduction(max : max_s, max_t)
    for (long v = 0; v < n; ++v) {
      max_s = s[v] * inv_t > max_s ? s[v] * inv_t : max_s;
      max_t = t[v] * inv_t > max_t ? t[v] * inv_t : max_t;
    }
    double sum_s = 0.0;
    double sum_t = 0.0;
#pragma omp simd reduction(+ : sum_s, sum_t)
    for (long v = 0; v < n; ++v) {
      const float es = vexp(s[v] * inv_t - max_s);
      const float et = vexp(t[v] * inv_t - max_t);
      d[v] = es;
      scratch[v] = et;
      sum_s += es;
      sum_t += et;
    }
    const float to_ps = static_cast<float>(1.0 / sum_s);
    const float to_pt = static_cast<float>(1.0 / sum_t);
    const float scale = scales.ce_scale;
    double cross = 0.0;
#pragma omp simd reduction(+ : cross)
    for (long v = 0; v < n; ++v) {
      const float pt = scratch[v] * to_pt;
      cross += pt * (t[v] - s[v]);
      d[v] = scale * (d[v] * to_ps - pt);
    }
    ce = cross / scales.temperature + max_s + std::log(sum_s) - max_t - std::log(sum_t);
  }
  if (soft && scales.mse_scale != 0.0f) {
    const float scale = scales.mse_scale;
#pragma omp simd reduction(+ : mse)
    for (long v = 0; v < n; ++v) {
      const float diff = s[v] - t[v];
      mse += diff * diff;
      d[v] += scale * diff;
    }
  }
  if (label >= 0) {
    float max = -FLT_MAX;
#pragma omp simd reduction(max : max)
    for (long v = 0; v < n; ++v) max = s[v] > max ? s[v] : max;
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (long v = 0; v < n; ++v) {
      scratch[v] = vexp(s[v] - max);
      sum += scratch[v];
    }
    mlm = max + std::log(sum) - s[label];
    const float to_p = static_cast<float>(scales.mlm_scale / sum);
#pragma omp simd
    for (long v = 0; v < n; ++v) d[v] += to_p * scratch[v];
    d[label] -= scales.mlm_scale;
  }
  losses[0] = static_cast<float>(ce);
  losses[1] = static_cast<float>(mlm);
  losses[2] = static_cast<float>(mse);
}

}  // namespace
