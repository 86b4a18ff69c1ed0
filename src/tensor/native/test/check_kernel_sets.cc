// Checks every kernel set this CPU can run against naive double-precision loops: the matrix
// multiply through gemm, gemm_parallel and gemm_prepacked_parallel (every transposition,
// accumulate, bias, residual, edge tiles), the int8 product (against the same arithmetic in
// double, from src/tensor/int8.ts), and each elementwise function. An error is the largest
// |got - expected| divided by the largest |expected| of the output; above 1e-5 is a failure.
// Prints the worst error per kernel set and exits 1 on any failure. A standalone program (no
// Node) so it runs on other architectures under an emulator: scripts/check-arm64.sh builds and
// runs it for x86-64 and for arm64 under qemu.

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../gemm.h"
#include "../gemm_int8.h"
#include "../kernel_set.h"
#include "../pool.h"

namespace {

constexpr double kTolerance = 1e-5;
constexpr double kPi = 3.14159265358979323846;

std::mt19937 random_engine(12345);

std::vector<float> random_values(long n, float low, float high) {
  std::uniform_real_distribution<float> distribution(low, high);
  std::vector<float> values(n);
  for (float& v : values) v = distribution(random_engine);
  return values;
}

// Tracks one kernel set's results: its worst error and failures.
struct Report {
  std::string set;
  double worst = 0.0;
  int checks = 0;
  int failures = 0;

  // Compares got[i] with expected[i] for i < n.
  void compare(const std::string& what, const float* got, const double* expected, long n) {
    double largest = 0.0;
    for (long i = 0; i < n; ++i) largest = std::fmax(largest, std::fabs(expected[i]));
    double scale = largest > 0.0 ? largest : 1.0;
    double error = 0.0;
    for (long i = 0; i < n; ++i) {
      double difference = std::fabs(static_cast<double>(got[i]) - expected[i]) / scale;
      // NaN compares false: count it as an infinite error.
      error = difference <= error ? error : (std::isnan(difference) ? INFINITY : difference);
    }
    record(what, error);
  }

  void record(const std::string& what, double error) {
    ++checks;
    if (error > worst) worst = error;
    if (!(error <= kTolerance)) {
      ++failures;
      std::printf("FAIL %s %s: relative error %.3g\n", set.c_str(), what.c_str(), error);
    }
  }
};

// A row-major matrix with padded rows, or its transpose, holding the logical values[rows, cols].
struct Stored {
  std::vector<float> data;
  Operand operand;
};

Stored store(const std::vector<float>& values, long rows, long cols, bool transposed) {
  long lines = transposed ? cols : rows;
  long length = transposed ? rows : cols;
  long ld = length + 3;
  Stored s;
  s.data.assign(lines * ld + 1, NAN);
  for (long i = 0; i < rows; ++i) {
    for (long j = 0; j < cols; ++j) {
      s.data[transposed ? j * ld + i : i * ld + j] = values[i * cols + j];
    }
  }
  s.operand = {s.data.data(), ld, transposed};
  return s;
}

void check_gemm(Report& report, const KernelSet& ks, Pool& pool, long m, long n, long k) {
  std::vector<float> a = random_values(m * k, -1.0f, 1.0f);
  std::vector<float> b = random_values(k * n, -1.0f, 1.0f);
  std::vector<float> bias = random_values(n, -1.0f, 1.0f);
  std::vector<float> start = random_values(m * n, -1.0f, 1.0f);
  std::vector<double> product(m * n, 0.0);
  for (long i = 0; i < m; ++i) {
    for (long p = 0; p < k; ++p) {
      double av = a[i * k + p];
      for (long j = 0; j < n; ++j) product[i * n + j] += av * b[p * n + j];
    }
  }
  const long ldc = n + 5;
  const float kOutside = -12345.0f;
  std::vector<float> c(m * ldc);
  std::vector<float> got(m * n);
  std::vector<double> expected(m * n);
  // C starts as `start` (when used) in its [m, n] part, NaN where it must be overwritten, and a
  // sentinel in each row's padding, which must stay untouched.
  auto run = [&](const std::string& variant, bool accumulate, bool with_bias,
                 bool with_residual, auto&& multiply) {
    for (long i = 0; i < m; ++i) {
      for (long j = 0; j < ldc; ++j) {
        c[i * ldc + j] = j >= n ? kOutside : (accumulate ? start[i * n + j] : NAN);
      }
    }
    multiply(c.data(), ldc, accumulate, with_bias ? bias.data() : nullptr);
    bool padding_intact = true;
    for (long i = 0; i < m; ++i) {
      for (long j = 0; j < ldc; ++j) {
        if (j < n) {
          got[i * n + j] = c[i * ldc + j];
        } else if (c[i * ldc + j] != kOutside) {
          padding_intact = false;
        }
      }
    }
    for (long i = 0; i < m; ++i) {
      for (long j = 0; j < n; ++j) {
        double e = product[i * n + j];
        if (accumulate || with_residual) e += start[i * n + j];
        if (with_bias) e += bias[j];
        expected[i * n + j] = e;
      }
    }
    std::string what = variant + " " + std::to_string(m) + "x" + std::to_string(n) + "x" +
                       std::to_string(k) + (accumulate ? " accumulate" : "") +
                       (with_bias ? " bias" : "") + (with_residual ? " residual" : "");
    report.compare(what, got.data(), expected.data(), m * n);
    if (!padding_intact) report.record(what + " (wrote outside C)", INFINITY);
  };
  std::vector<float> residual(m * ldc, NAN);
  for (long i = 0; i < m; ++i) std::memcpy(&residual[i * ldc], &start[i * n], n * sizeof(float));
  for (int transposes = 0; transposes < 4; ++transposes) {
    bool ta = transposes & 1;
    bool tb = transposes & 2;
    Stored sa = store(a, m, k, ta);
    Stored sb = store(b, k, n, tb);
    std::string ops = std::string(ta ? "A^T" : "A") + (tb ? " B^T" : " B");
    for (int flags = 0; flags < 4; ++flags) {
      bool accumulate = flags & 1;
      bool with_bias = flags & 2;
      run("gemm " + ops, accumulate, with_bias, false,
          [&](float* cp, long ld, bool acc, const float* bp) {
            gemm(ks, m, n, k, sa.operand, sb.operand, cp, ld, acc, bp);
          });
    }
    run("gemm_parallel " + ops, true, true, false,
        [&](float* cp, long ld, bool acc, const float* bp) {
          gemm_parallel(pool, ks, m, n, k, sa.operand, sb.operand, cp, ld, acc, bp);
        });
    long packed_size = packed_matrix_size(ks, n, k);
    float* packed = static_cast<float*>(
        std::aligned_alloc(64, (packed_size * sizeof(float) + 63) / 64 * 64));
    pack_matrix(pool, ks, n, k, sb.operand, packed);
    for (int flags = 0; flags < 2; ++flags) {
      bool with_residual = flags & 1;
      run("gemm_prepacked_parallel " + ops, !with_residual, true, with_residual,
          [&](float* cp, long ld, bool acc, const float* bp) {
            gemm_prepacked_parallel(pool, ks, m, n, k, sa.operand, packed, cp, ld, acc, bp,
                                    with_residual ? residual.data() : nullptr);
          });
    }
    std::free(packed);
  }
}

double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
// The int8 product as src/tensor/int8.ts defines it: weights per row, symmetric; each row of A
// to u8 with a zero point (rounding half to even, as the kernels do); exact integer sums.
void check_int8(Report& report, const KernelSet& ks, Pool& pool, long m, long n, long k) {
  std::vector<float> a = random_values(m * k, -2.0f, 3.0f);
  std::vector<float> w = random_values(n * k, -1.0f, 1.0f);
  std::vector<float> bias = random_values(n, -1.0f, 1.0f);
  std::vector<float> residual = random_values(m * n, -1.0f, 1.0f);
  std::vector<int8_t> values(n * k);
  std::vector<float> scales(n);
  for (long j = 0; j < n; ++j) {
    float largest = 0.0f;
    for (long p = 0; p < k; ++p) largest = std::fmax(largest, std::fabs(w[j * k + p]));
    scales[j] = largest / 127.0f;
    for (long p = 0; p < k; ++p) {
      values[j * k + p] = static_cast<int8_t>(std::nearbyint(w[j * k + p] / scales[j]));
    }
  }
  std::vector<double> expected(m * n);
  for (long i = 0; i < m; ++i) {
    float lo = 0.0f;
    float hi = 0.0f;
    for (long p = 0; p < k; ++p) {
      lo = std::fmin(lo, a[i * k + p]);
      hi = std::fmax(hi, a[i * k + p]);
    }
    float scale = (hi - lo) / 255.0f;
    float inverse = scale == 0.0f ? 0.0f : 1.0f / scale;
    long zero = std::lround(std::fmin(255.0f, std::fmax(0.0f, std::nearbyint(-lo * inverse))));
    for (long j = 0; j < n; ++j) {
      long sum = 0;
      for (long p = 0; p < k; ++p) {
        long q = std::lround(std::nearbyint(a[i * k + p] * inverse)) + zero;
        q = q < 0 ? 0 : (q > 255 ? 255 : q);
        sum += (q - zero) * values[j * k + p];
      }
      expected[i * n + j] =
          static_cast<double>(sum) * scale * scales[j] + bias[j] + residual[i * n + j];
    }
  }
  PackedInt8* packed = pack_int8(*ks.int8, values.data(), scales.data(), n, k);
  std::vector<float> c(m * n);
  gemm_int8_parallel(pool, *packed, m, a.data(), c.data(), bias.data(), residual.data());
  free_packed_int8(packed);
  report.compare("int8 " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k),
                 c.data(), expected.data(), m * n);
}

double gelu_derivative(double x) {
  return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))) +
         x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * kPi);
}
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double gelu_new_inner(double x) { return std::sqrt(2.0 / kPi) * (x + 0.044715 * x * x * x); }

double activation_value(Activation kind, double x) {
  switch (kind) {
    case Activation::kGelu:
      return gelu(x);
    case Activation::kRelu:
      return x > 0.0 ? x : 0.0;
    case Activation::kSilu:
      return x * sigmoid(x);
    case Activation::kGeluNew:
      return 0.5 * x * (1.0 + std::tanh(gelu_new_inner(x)));
  }
  return NAN;
}

double activation_derivative(Activation kind, double x) {
  switch (kind) {
    case Activation::kGelu:
      return gelu_derivative(x);
    case Activation::kRelu:
      return x > 0.0 ? 1.0 : 0.0;
    case Activation::kSilu:
      return sigmoid(x) * (1.0 + x * (1.0 - sigmoid(x)));
    case Activation::kGeluNew: {
      double t = std::tanh(gelu_new_inner(x));
      return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * std::sqrt(2.0 / kPi) *
                                   (1.0 + 3.0 * 0.044715 * x * x);
    }
  }
  return NAN;
}

void check_activations(Report& report, const KernelSet& ks, long n) {
  std::vector<float> x = random_values(n, -10.0f, 10.0f);
  std::vector<float> d_out = random_values(n, -1.0f, 1.0f);
  std::vector<float> got(n);
  std::vector<double> expected(n);
  const char* names[] = {"gelu", "relu", "silu", "gelu_new"};
  for (int kind = 0; kind < 4; ++kind) {
    Activation activation = static_cast<Activation>(kind);
    std::string what = std::string(names[kind]) + " n=" + std::to_string(n);
    ks.activation_forward(activation, x.data(), got.data(), n);
    for (long i = 0; i < n; ++i) expected[i] = activation_value(activation, x[i]);
    report.compare(what + " forward", got.data(), expected.data(), n);
    ks.activation_backward(activation, x.data(), d_out.data(), got.data(), n);
    for (long i = 0; i < n; ++i) expected[i] = activation_derivative(activation, x[i]) * d_out[i];
    report.compare(what + " backward", got.data(), expected.data(), n);
  }
}

void check_softmax(Report& report, const KernelSet& ks, long n) {
  std::vector<float> row = random_values(n, -40.0f, 40.0f);
  std::vector<float> key_mask = random_values(n, 0.0f, 1.0f);
  for (long j = 0; j < n; ++j) key_mask[j] = j == 0 || key_mask[j] > 0.25f ? 1.0f : 0.0f;
  const float scale = 0.125f;
  double max = -INFINITY;
  for (long j = 0; j < n; ++j) {
    if (key_mask[j] != 0.0f) max = std::fmax(max, static_cast<double>(row[j]) * scale);
  }
  std::vector<double> expected(n);
  double total = 0.0;
  for (long j = 0; j < n; ++j) {
    expected[j] = key_mask[j] == 0.0f ? 0.0 : std::exp(static_cast<double>(row[j]) * scale - max);
    total += expected[j];
  }
  for (double& e : expected) e /= total;
  ks.softmax_row(row.data(), key_mask.data(), n, scale);
  report.compare("softmax_row n=" + std::to_string(n), row.data(), expected.data(), n);
}

void check_layer_norm(Report& report, const KernelSet& ks, long dim) {
  std::vector<float> x = random_values(dim, 2.0f, 6.0f);
  std::vector<float> gamma = random_values(dim, 0.5f, 1.5f);
  std::vector<float> beta = random_values(dim, -1.0f, 1.0f);
  const float eps = 1e-12f;
  double sum = 0.0;
  for (float v : x) sum += v;
  double mean = sum / dim;
  double squares = 0.0;
  for (float v : x) squares += (v - mean) * (v - mean);
  double rstd = 1.0 / std::sqrt(squares / dim + eps);
  std::vector<double> expected(dim);
  for (long i = 0; i < dim; ++i) expected[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
  std::vector<float> out(dim);
  float got_mean = 0.0f;
  float got_rstd = 0.0f;
  ks.layer_norm_row(x.data(), gamma.data(), beta.data(), out.data(), dim, eps, &got_mean,
                    &got_rstd);
  std::string what = "layer_norm_row dim=" + std::to_string(dim);
  report.compare(what + " out", out.data(), expected.data(), dim);
  report.compare(what + " mean", &got_mean, &mean, 1);
  report.compare(what + " rstd", &got_rstd, &rstd, 1);

  // The gradient at the mean and rstd the forward pass returned (as float, as the backend keeps).
  std::vector<float> d_out = random_values(dim, -1.0f, 1.0f);
  std::vector<float> d_gamma = random_values(dim, -1.0f, 1.0f);
  std::vector<float> d_beta = random_values(dim, -1.0f, 1.0f);
  std::vector<double> expected_dx(dim);
  std::vector<double> expected_d_gamma(dim);
  std::vector<double> expected_d_beta(dim);
  double m = got_mean;
  double s = got_rstd;
  double sum_g = 0.0;
  double sum_gx = 0.0;
  for (long i = 0; i < dim; ++i) {
    double x_hat = (x[i] - m) * s;
    double g = static_cast<double>(d_out[i]) * gamma[i];
    sum_g += g;
    sum_gx += g * x_hat;
    expected_d_gamma[i] = d_gamma[i] + d_out[i] * x_hat;
    expected_d_beta[i] = static_cast<double>(d_beta[i]) + d_out[i];
  }
  for (long i = 0; i < dim; ++i) {
    double x_hat = (x[i] - m) * s;
    expected_dx[i] = s * (static_cast<double>(d_out[i]) * gamma[i] - sum_g / dim -
                          x_hat * sum_gx / dim);
  }
  std::vector<float> dx(dim);
  ks.layer_norm_backward_row(d_out.data(), x.data(), gamma.data(), got_mean, got_rstd, dx.data(),
                             d_gamma.data(), d_beta.data(), dim);
  what = "layer_norm_backward_row dim=" + std::to_string(dim);
  report.compare(what + " dx", dx.data(), expected_dx.data(), dim);
  report.compare(what + " d_gamma", d_gamma.data(), expected_d_gamma.data(), dim);
  report.compare(what + " d_beta", d_beta.data(), expected_d_beta.data(), dim);
}

// log of the sum of exp(values[v] * factor).
double log_sum_exp(const std::vector<float>& values, double factor) {
  double max = -INFINITY;
  // A ternary, not std::fmax: GCC 12 for aarch64 crashes vectorizing this loop with fmax.
  for (float v : values) max = v * factor > max ? v * factor : max;
  double sum = 0.0;
  for (float v : values) sum += std::exp(v * factor - max);
  return max + std::log(sum);
}

void check_logit_loss(Report& report, const KernelSet& ks, long n, bool soft, long label) {
  std::vector<float> s = random_values(n, -8.0f, 8.0f);
  std::vector<float> t = random_values(n, -8.0f, 8.0f);
  const LogitLossScales scales = {2.0f, 0.5f, 0.3f, 0.2f};
  const double temperature = scales.temperature;
  std::vector<double> expected_d(n, 0.0);
  double expected_losses[3] = {0.0, 0.0, 0.0};
  if (soft) {
    double lse_s = log_sum_exp(s, 1.0 / temperature);
    double lse_t = log_sum_exp(t, 1.0 / temperature);
    double kl = 0.0;
    double squared_error = 0.0;
    for (long v = 0; v < n; ++v) {
      double log_ps = s[v] / temperature - lse_s;
      double log_pt = t[v] / temperature - lse_t;
      double pt = std::exp(log_pt);
      kl += pt * (log_pt - log_ps);
      expected_d[v] += scales.ce_scale * (std::exp(log_ps) - pt);
      double difference = static_cast<double>(s[v]) - t[v];
      squared_error += difference * difference;
      expected_d[v] += scales.mse_scale * difference;
    }
    expected_losses[0] = kl;
    expected_losses[2] = squared_error;
  }
  if (label >= 0) {
    double lse = log_sum_exp(s, 1.0);
    expected_losses[1] = lse - s[label];
    for (long v = 0; v < n; ++v) expected_d[v] += scales.mlm_scale * std::exp(s[v] - lse);
    expected_d[label] -= scales.mlm_scale;
  }
  std::vector<float> d(n, NAN);
  std::vector<float> scratch(n);
  float losses[3];
  ks.logit_loss_row(s.data(), t.data(), soft, label, d.data(), scratch.data(), n, scales, losses);
  std::string what = "logit_loss_row n=" + std::to_string(n) + (soft ? " soft" : "") +
                     (label >= 0 ? " label" : "");
  report.compare(what + " d", d.data(), expected_d.data(), n);
  const char* loss_names[] = {" kl", " cross-entropy", " squared error"};
  for (int i = 0; i < 3; ++i) {
    report.compare(what + loss_names[i], &losses[i], &expected_losses[i], 1);
  }
}

}  // namespace

int main() {
  const KernelSet* sets[8];
  int count = available_kernel_sets(sets, 8);
  Pool pool(2);
  const long shapes[][3] = {{1, 1, 1},     {3, 17, 5},     {17, 3, 64},  {127, 64, 300},
                            {130, 40, 768}, {33, 3072, 9}, {200, 30, 20}};
  int failures = 0;
  for (int i = 0; i < count; ++i) {
    const KernelSet& ks = *sets[i];
    // Every set on the same inputs, whichever sets this CPU runs.
    random_engine.seed(12345);
    Report gemm_report{ks.name};
    for (const auto& shape : shapes) {
      check_gemm(gemm_report, ks, pool, shape[0], shape[1], shape[2]);
    }
    Report elementwise_report{ks.name};
    for (long n : {1L, 7L, 1003L}) check_activations(elementwise_report, ks, n);
    for (long n : {1L, 7L, 128L, 1003L}) check_softmax(elementwise_report, ks, n);
    for (long dim : {1L, 7L, 768L, 1001L}) check_layer_norm(elementwise_report, ks, dim);
    for (long n : {7L, 1000L, 30522L}) {
      check_logit_loss(elementwise_report, ks, n, true, n / 3);
      check_logit_loss(elementwise_report, ks, n, true, -1);
      check_logit_loss(elementwise_report, ks, n, false, n - 1);
    }
    Report int8_report{ks.name};
    for (const auto& shape : shapes) check_int8(int8_report, ks, pool, shape[0], shape[1], shape[2]);
    std::printf("%-11s gemm: %d checks, worst %.2e; elementwise: %d checks, worst %.2e; int8: %d "
                "checks, worst %.2e%s\n",
                ks.name, gemm_report.checks, gemm_report.worst, elementwise_report.checks,
                elementwise_report.worst, int8_report.checks, int8_report.worst,
                gemm_report.failures + elementwise_report.failures + int8_report.failures
                    ? "  FAILED"
                    : "");
    failures += gemm_report.failures + elementwise_report.failures + int8_report.failures;
  }
  if (failures > 0) {
    std::printf("%d checks failed (tolerance %.0e relative to the largest magnitude)\n", failures,
                kTolerance);
    return 1;
  }
  return 0;
}
