#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace {

// [0, n) cut into `chunks` contiguous ranges of nearly equal length.
struct Ranges {
  long n;
  int chunks;
  long begin(int c) const { return n * c / chunks; }
  long end(int c) const { return n * (c + 1) / chunks; }
};

// Up to four ranges per thread (so a descheduled thread delays less), each at least
// min_per_chunk long.
Ranges split(long n, const Pool& pool, long min_per_chunk) {
  long chunks = std::max<long>(1, std::min<long>(pool.threads() * 4L, n / min_per_chunk));
  return {n, static_cast<int>(chunks)};
}

// A per-thread scratch array, kept between calls.
float* scratch(std::vector<float>& buffer, size_t size) {
  if (buffer.size() < size) buffer.resize(size);
  return buffer.data();
}

thread_local std::vector<float> scratch_a;
thread_local std::vector<float> scratch_b;

}  // namespace

void embeddings_sum(Context& ctx, const EmbeddingTables& tables, const int32_t* ids,
                    const int32_t* position_ids, const int32_t* type_ids, float* out, long rows,
                    long dim) {
  Ranges ranges = split(rows, ctx.pool, 64);
  parallel_for(ctx.pool, ranges.chunks, [&](int chunk) {
    for (long r = ranges.begin(chunk); r < ranges.end(chunk); ++r) {
      float* row = out + r * dim;
      const float* position = tables.position + position_ids[r] * dim;
      if (tables.word_int8) {
        const int8_t* word = tables.word_int8 + static_cast<long>(ids[r]) * dim;
        float scale = tables.word_scales[ids[r]];
        for (long i = 0; i < dim; ++i) row[i] = static_cast<float>(word[i]) * scale + position[i];
      } else {
        const float* word = tables.word + static_cast<long>(ids[r]) * dim;
        for (long i = 0; i < dim; ++i) row[i] = word[i] + position[i];
      }
      if (tables.token_type) {
        const float* type = tables.token_type + type_ids[r] * dim;
        for (long i = 0; i < dim; ++i) row[i] += type[i];
      }
    }
  });
}

void attention_forward(Context& ctx, const float* q, const float* k, const float* v,
                       const float* key_mask, float* probs, float* out, long batch, long seq,
                       long heads, long head_dim, const float* dropout_mask) {
  const long hidden = heads * head_dim;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  const KernelSet& ks = *ctx.kernels;
  parallel_for(ctx.pool, static_cast<int>(batch * heads), [&](int task) {
    long b = task / heads;
    long h = task % heads;
    long offset = b * seq * hidden + h * head_dim;
    float* p = probs + task * seq * seq;
    gemm(ks, seq, seq, head_dim, {q + offset, hidden, false}, {k + offset, hidden, true}, p, seq,
         false, nullptr);
    for (long i = 0; i < seq; ++i) ks.softmax_row(p + i * seq, key_mask + b * seq, seq, scale);
    const float* weights = p;
    if (dropout_mask) {
      float* dropped = scratch(scratch_a, seq * seq);
      const float* drop = dropout_mask + task * seq * seq;
      for (long j = 0; j < seq * seq; ++j) dropped[j] = p[j] * drop[j];
      weights = dropped;
    }
    gemm(ks, seq, head_dim, seq, {weights, seq, false}, {v + offset, hidden, false}, out + offset,
         hidden, false, nullptr);
  });
}

void attention_backward(Context& ctx, const float* d_out, const float* q, const float* k,
                        const float* v, const float* probs, float* dq, float* dk, float* dv,
                        long batch, long seq, long heads, long head_dim,
                        const float* dropout_mask) {
  const long hidden = heads * head_dim;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  const KernelSet& ks = *ctx.kernels;
  parallel_for(ctx.pool, static_cast<int>(batch * heads), [&](int task) {
    long b = task / heads;
    long h = task % heads;
    long offset = b * seq * hidden + h * head_dim;
    const float* p = probs + task * seq * seq;
    const float* drop = dropout_mask ? dropout_mask + task * seq * seq : nullptr;
    const float* weights = p;
    if (drop) {
      float* dropped = scratch(scratch_a, seq * seq);
      for (long j = 0; j < seq * seq; ++j) dropped[j] = p[j] * drop[j];
      weights = dropped;
    }
    gemm(ks, seq, head_dim, seq, {weights, seq, true}, {d_out + offset, hidden, false},
         dv + offset, hidden, false, nullptr);
    float* d_scores = scratch(scratch_b, seq * seq);
    gemm(ks, seq, seq, head_dim, {d_out + offset, hidden, false}, {v + offset, hidden, true},
         d_scores, seq, false, nullptr);
    for (long i = 0; i < seq; ++i) {
      float* row = d_scores + i * seq;
      const float* p_row = p + i * seq;
      if (drop) {
        const float* drop_row = drop + i * seq;
        for (long j = 0; j < seq; ++j) row[j] *= drop_row[j];
      }
      double dot = 0.0;
      for (long j = 0; j < seq; ++j) dot += static_cast<double>(row[j]) * p_row[j];
      float dot_f = static_cast<float>(dot);
      for (long j = 0; j < seq; ++j) row[j] = p_row[j] * (row[j] - dot_f) * scale;
    }
    gemm(ks, seq, head_dim, seq, {d_scores, seq, false}, {k + offset, hidden, false}, dq + offset,
         hidden, false, nullptr);
    gemm(ks, seq, head_dim, seq, {d_scores, seq, true}, {q + offset, hidden, false}, dk + offset,
         hidden, false, nullptr);
  });
}

void layer_norm_forward(Context& ctx, const float* x, const float* gamma, const float* beta,
                        float* out, float* mean, float* rstd, long rows, long dim, double eps) {
  Ranges ranges = split(rows, ctx.pool, 8);
  parallel_for(ctx.pool, ranges.chunks, [&](int chunk) {
    for (long r = ranges.begin(chunk); r < ranges.end(chunk); ++r) {
      ctx.kernels->layer_norm_row(x + r * dim, gamma, beta, out + r * dim, dim,
                                  static_cast<float>(eps), mean + r, rstd + r);
    }
  });
}

void layer_norm_backward(Context& ctx, const float* d_out, const float* x, const float* gamma,
                         const float* mean, const float* rstd, float* dx, float* d_gamma,
                         float* d_beta, long rows, long dim) {
  // Each chunk of rows sums its own dGamma/dBeta; the partial sums are added in chunk order so
  // the result does not depend on thread timing.
  Ranges ranges = split(rows, ctx.pool, 16);
  std::vector<float> partial(2 * dim * ranges.chunks, 0.0f);
  parallel_for(ctx.pool, ranges.chunks, [&](int chunk) {
    float* pg = partial.data() + 2 * dim * chunk;
    float* pb = pg + dim;
    for (long r = ranges.begin(chunk); r < ranges.end(chunk); ++r) {
      ctx.kernels->layer_norm_backward_row(d_out + r * dim, x + r * dim, gamma, mean[r], rstd[r],
                                           dx + r * dim, pg, pb, dim);
    }
  });
  for (int chunk = 0; chunk < ranges.chunks; ++chunk) {
    const float* pg = partial.data() + 2 * dim * chunk;
    const float* pb = pg + dim;
    for (long i = 0; i < dim; ++i) {
      d_gamma[i] += pg[i];
      d_beta[i] += pb[i];
    }
  }
}

void activation_forward(Context& ctx, Activation kind, const float* x, float* out, long n) {
  Ranges ranges = split(n, ctx.pool, 8192);
  parallel_for(ctx.pool, ranges.chunks, [&](int c) {
    long begin = ranges.begin(c);
    ctx.kernels->activation_forward(kind, x + begin, out + begin, ranges.end(c) - begin);
  });
}

void activation_backward(Context& ctx, Activation kind, const float* x, const float* d_out,
                         float* dx, long n) {
  Ranges ranges = split(n, ctx.pool, 8192);
  parallel_for(ctx.pool, ranges.chunks, [&](int c) {
    long begin = ranges.begin(c);
    ctx.kernels->activation_backward(kind, x + begin, d_out + begin, dx + begin,
                                     ranges.end(c) - begin);
  });
}

void sum_rows(Context& ctx, const float* x, float* out, long rows, long cols, bool accumulate) {
  Ranges ranges = split(cols, ctx.pool, 64);
  parallel_for(ctx.pool, ranges.chunks, [&](int chunk) {
    long begin = ranges.begin(chunk);
    long width = ranges.end(chunk) - begin;
    std::vector<double> sums(width, 0.0);
    for (long r = 0; r < rows; ++r) {
      const float* xr = x + r * cols + begin;
      for (long j = 0; j < width; ++j) sums[j] += xr[j];
    }
    for (long j = 0; j < width; ++j) {
      out[begin + j] = static_cast<float>(accumulate ? out[begin + j] + sums[j] : sums[j]);
    }
  });
}

double sum_of_squares(Context& ctx, const float* x, long n) {
  Ranges ranges = split(n, ctx.pool, 16384);
  std::vector<double> partial(ranges.chunks, 0.0);
  parallel_for(ctx.pool, ranges.chunks, [&](int chunk) {
    double sum = 0.0;
    for (long i = ranges.begin(chunk); i < ranges.end(chunk); ++i) {
      sum += static_cast<double>(x[i]) * x[i];
    }
    partial[chunk] = sum;
  });
  double total = 0.0;
  for (double value : partial) total += value;
  return total;
}

void adamw(Context& ctx, float* param, const float* grad, float* m, float* v, long n,
           const AdamWStep& step) {
  // Same operation order and float32 rounding points as the reference backend.
  const double correction1 = 1.0 - std::pow(step.beta1, step.step);
  const double correction2_sqrt = std::sqrt(1.0 - std::pow(step.beta2, step.step));
  const double step_size = step.lr / correction1;
  const double decay = 1.0 - step.lr * step.weight_decay;
  Ranges ranges = split(n, ctx.pool, 16384);
  parallel_for(ctx.pool, ranges.chunks, [&](int chunk) {
    for (long i = ranges.begin(chunk); i < ranges.end(chunk); ++i) {
      double g = grad[i];
      float p = static_cast<float>(param[i] * decay);
      float mi = static_cast<float>(step.beta1 * m[i] + (1.0 - step.beta1) * g);
      float vi = static_cast<float>(step.beta2 * v[i] + (1.0 - step.beta2) * g * g);
      m[i] = mi;
      v[i] = vi;
      param[i] =
          static_cast<float>(p - (step_size * mi) / (std::sqrt(static_cast<double>(vi)) /
                                                         correction2_sqrt + step.eps));
    }
  });
}

void logit_losses(Context& ctx, const float* student, const float* teacher, const uint8_t* soft,
                  const int32_t* labels, float* d_student, float* row_losses, long rows,
                  long vocab, const LogitLossScales& scales) {
  Ranges ranges = split(rows, ctx.pool, 1);
  parallel_for(ctx.pool, ranges.chunks, [&](int chunk) {
    float* buffer = scratch(scratch_a, vocab);
    for (long r = ranges.begin(chunk); r < ranges.end(chunk); ++r) {
      ctx.kernels->logit_loss_row(student + r * vocab, teacher + r * vocab, soft[r] != 0,
                                  labels[r], d_student + r * vocab, buffer, vocab, scales,
                                  row_losses + 3 * r);
    }
  });
}
