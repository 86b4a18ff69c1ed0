// The non-matmul kernels of src/tensor/backend.ts, same arguments and meaning; see there.

#pragma once

#include <cstdint>

#include "gemm.h"
#include "pool.h"

struct Context {
  Pool pool;
  const KernelSet* kernels;
  Context(int threads, const KernelSet* kernel_set) : pool(threads), kernels(kernel_set) {}
};

// Backend.embeddingsSum's tables: the word table float (word) or int8 with a scale per row
// (word_int8, word_scales); token_type may be null.
struct EmbeddingTables {
  const float* word;
  const int8_t* word_int8;
  const float* word_scales;
  const float* position;
  const float* token_type;
};

void embeddings_sum(Context& ctx, const EmbeddingTables& tables, const int32_t* ids,
                    const int32_t* position_ids, const int32_t* type_ids, float* out, long rows,
                    long dim);

void attention_forward(Context& ctx, const float* q, const float* k, const float* v,
                       const float* key_mask, float* probs, float* out, long batch, long seq,
                       long heads, long head_dim, const float* dropout_mask);

void attention_backward(Context& ctx, const float* d_out, const float* q, const float* k,
                        const float* v, const float* probs, float* dq, float* dk, float* dv,
                        long batch, long seq, long heads, long head_dim,
                        const float* dropout_mask);

void layer_norm_forward(Context& ctx, const float* x, const float* gamma, const float* beta,
                        float* out, float* mean, float* rstd, long rows, long dim, double eps);

void layer_norm_backward(Context& ctx, const float* d_out, const float* x, const float* gamma,
                         const float* mean, const float* rstd, float* dx, float* d_gamma,
                         float* d_beta, long rows, long dim);

void activation_forward(Context& ctx, Activation kind, const float* x, float* out, long n);

void activation_backward(Context& ctx, Activation kind, const float* x, const float* d_out,
                         float* dx, long n);

void sum_rows(Context& ctx, const float* x, float* out, long rows, long cols, bool accumulate);

double sum_of_squares(Context& ctx, const float* x, long n);

struct AdamWStep {
  double lr, beta1, beta2, eps, weight_decay;
  double step;
};

void adamw(Context& ctx, float* param, const float* grad, float* m, float* v, long n,
           const AdamWStep& step);

// Backend.logitLosses: labels[rows] (negative: none), soft[rows] (non-zero: the soft terms apply).
void logit_losses(Context& ctx, const float* student, const float* teacher, const uint8_t* soft,
                  const int32_t* labels, float* d_student, float* row_losses, long rows,
                  long vocab, const LogitLossScales& scales);
