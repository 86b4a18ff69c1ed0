// N-API entry points. Float32Arrays are read in place (napi_get_typedarray_info), whatever
// buffer backs them; every length is checked here, before any kernel touches memory.

#include <node_api.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "gemm.h"
#include "gemm_int8.h"
#include "kernels.h"

namespace {

constexpr size_t kMaxArgs = 16;

struct Call {
  napi_env env;
  const char* kernel;
  size_t argc = kMaxArgs;
  napi_value argv[kMaxArgs];
  bool failed = false;

  Call(napi_env e, napi_callback_info info, const char* name) : env(e), kernel(name) {
    if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) fail("bad call");
  }

  void fail(const std::string& message) {
    if (failed) return;
    failed = true;
    napi_throw_type_error(env, nullptr, (std::string(kernel) + ": " + message).c_str());
  }

  bool present(size_t i) {
    if (i >= argc) return false;
    napi_valuetype type;
    napi_typeof(env, argv[i], &type);
    return type != napi_undefined && type != napi_null;
  }

  double number(size_t i, const char* name) {
    double value = 0;
    if (failed) return 0;
    if (i >= argc || napi_get_value_double(env, argv[i], &value) != napi_ok) {
      fail(std::string(name) + " must be a number");
    }
    return value;
  }

  // A non-negative integer that fits comfortably in the address space.
  long count(size_t i, const char* name) {
    double value = number(i, name);
    if (failed) return 0;
    if (!(value >= 0 && value <= 9.0e15) || value != static_cast<double>(static_cast<long>(value))) {
      fail(std::string(name) + " must be a non-negative integer");
      return 0;
    }
    return static_cast<long>(value);
  }

  bool flag(size_t i) {
    bool value = false;
    if (failed || !present(i)) return false;
    if (napi_get_value_bool(env, argv[i], &value) != napi_ok) fail("expected a boolean");
    return value;
  }

  // A Float32Array of at least `needed` elements, or null if optional and absent.
  float* floats(size_t i, const char* name, double needed, bool optional = false) {
    if (optional && !present(i)) return nullptr;
    return static_cast<float*>(typed(i, name, needed, napi_float32_array, "a Float32Array"));
  }

  int32_t* ints(size_t i, const char* name, double needed) {
    return static_cast<int32_t*>(typed(i, name, needed, napi_int32_array, "an Int32Array"));
  }

  int8_t* int8s(size_t i, const char* name, double needed) {
    return static_cast<int8_t*>(typed(i, name, needed, napi_int8_array, "an Int8Array"));
  }

  uint8_t* bytes(size_t i, const char* name, double needed) {
    return static_cast<uint8_t*>(typed(i, name, needed, napi_uint8_array, "a Uint8Array"));
  }

  // The data of a typed array of `expected` type with at least `needed` elements.
  void* typed(size_t i, const char* name, double needed, napi_typedarray_type expected,
              const char* type_name) {
    if (failed) return nullptr;
    bool is_typedarray = false;
    if (i < argc) napi_is_typedarray(env, argv[i], &is_typedarray);
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (!is_typedarray ||
        napi_get_typedarray_info(env, argv[i], &type, &length, &data, nullptr, nullptr) !=
            napi_ok ||
        type != expected) {
      fail(std::string(name) + " must be " + type_name);
      return nullptr;
    }
    if (static_cast<double>(length) < needed) {
      char message[160];
      std::snprintf(message, sizeof message, "%s has %zu elements but needs %.0f", name, length,
                    needed);
      fail(message);
      return nullptr;
    }
    return data;
  }

  Context* context() {
    void* data = nullptr;
    if (napi_get_value_external(env, argv[0], &data) != napi_ok || data == nullptr) {
      fail("the first argument must be a native context");
    }
    return static_cast<Context*>(data);
  }

  napi_value undefined() {
    napi_value value;
    napi_get_undefined(env, &value);
    return value;
  }
};

napi_value string_value(napi_env env, const char* text) {
  napi_value value;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &value);
  return value;
}

// kernelSets(): names of the micro-kernel sets this CPU can run, best first.
napi_value KernelSets(napi_env env, napi_callback_info) {
  const KernelSet* sets[8];
  int count = available_kernel_sets(sets, 8);
  napi_value names;
  napi_create_array_with_length(env, count, &names);
  for (int i = 0; i < count; ++i) napi_set_element(env, names, i, string_value(env, sets[i]->name));
  return names;
}

// alloc(length): a zero-filled Float32Array whose first element is 64-byte aligned.
napi_value Alloc(napi_env env, napi_callback_info info) {
  Call call(env, info, "alloc");
  long length = call.count(0, "length");
  if (call.failed) return nullptr;
  constexpr size_t kAlignment = 64;
  void* data = nullptr;
  napi_value buffer;
  if (napi_create_arraybuffer(env, length * sizeof(float) + kAlignment, &data, &buffer) !=
      napi_ok) {
    call.fail("out of memory");
    return nullptr;
  }
  size_t misalignment = reinterpret_cast<uintptr_t>(data) % kAlignment;
  size_t offset = misalignment == 0 ? 0 : kAlignment - misalignment;
  napi_value array;
  napi_create_typedarray(env, napi_float32_array, length, buffer, offset, &array);
  return array;
}

// createContext(threads, kernelSetName): a thread pool and micro-kernel choice.
napi_value CreateContext(napi_env env, napi_callback_info info) {
  Call call(env, info, "createContext");
  long threads = call.count(0, "threads");
  if (!call.failed && (threads < 1 || threads > 256)) call.fail("threads must be 1 to 256");
  char name[32] = {};
  size_t length = 0;
  if (!call.failed &&
      napi_get_value_string_utf8(env, call.argv[1], name, sizeof name, &length) != napi_ok) {
    call.fail("the kernel set name must be a string");
  }
  if (call.failed) return nullptr;
  const KernelSet* set = find_kernel_set(name);
  if (set == nullptr) {
    call.fail(std::string("kernel set ") + name + " is not available on this CPU");
    return nullptr;
  }
  auto* context = new Context(static_cast<int>(threads), set);
  napi_value external;
  napi_create_external(
      env, context,
      [](napi_env, void* data, void*) { delete static_cast<Context*>(data); }, nullptr,
      &external);
  return external;
}

// matmul(ctx, a, b, c, m, n, k, transA, transB, accumulate, bias, residual)
napi_value Matmul(napi_env env, napi_callback_info info) {
  Call call(env, info, "matmul");
  Context* ctx = call.context();
  long m = call.count(4, "m");
  long n = call.count(5, "n");
  long k = call.count(6, "k");
  bool trans_a = call.flag(7);
  bool trans_b = call.flag(8);
  bool accumulate = call.flag(9);
  const float* a = call.floats(1, "a", static_cast<double>(m) * k);
  const float* b = call.floats(2, "b", static_cast<double>(k) * n);
  float* c = call.floats(3, "c", static_cast<double>(m) * n);
  const float* bias = call.floats(10, "bias", n, true);
  const float* residual = call.floats(11, "residual", static_cast<double>(m) * n, true);
  if (call.failed) return nullptr;
  if (residual) {
    // C starts as the residual, each thread copying the rows it is given.
    parallel_for(ctx->pool, ctx->pool.threads(), [&](int part) {
      long begin = m * part / ctx->pool.threads();
      long end = m * (part + 1) / ctx->pool.threads();
      std::memcpy(c + begin * n, residual + begin * n, (end - begin) * n * sizeof(float));
    });
  }
  gemm_parallel(ctx->pool, *ctx->kernels, m, n, k, {a, trans_a ? m : k, trans_a},
                {b, trans_b ? k : n, trans_b}, c, n, accumulate || residual, bias);
  return call.undefined();
}

// A matrix packed by packMatrix for one kernel set's micro-kernel; JS holds it as an external.
struct PackedMatrix {
  const KernelSet* kernels;
  long n, k;
  float* data;
  int64_t bytes;
};

void free_packed_matrix(PackedMatrix* packed) {
  std::free(packed->data);
  delete packed;
}

// Hands a packed weight to JS as an external marked with `tag`, its bytes counted against the
// engine's heap until the garbage collector frees it with Release.
template <typename Packed, void (*Release)(Packed*)>
napi_value packed_external(napi_env env, Packed* packed, const napi_type_tag& tag) {
  napi_value external;
  napi_create_external(
      env, packed,
      [](napi_env env, void* data, void*) {
        auto* packed = static_cast<Packed*>(data);
        int64_t ignored;
        napi_adjust_external_memory(env, -static_cast<int64_t>(packed->bytes), &ignored);
        Release(packed);
      },
      nullptr, &external);
  napi_type_tag_object(env, external, &tag);
  int64_t ignored;
  napi_adjust_external_memory(env, static_cast<int64_t>(packed->bytes), &ignored);
  return external;
}

// The packed weight argument i, which must be an external marked with `tag`; null (and the call
// failed with `message`) when it is not.
template <typename Packed>
Packed* packed_argument(Call& call, size_t i, const napi_type_tag& tag, const char* message) {
  bool tagged = false;
  void* data = nullptr;
  if (napi_check_object_type_tag(call.env, call.argv[i], &tag, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(call.env, call.argv[i], &data) != napi_ok) {
    call.fail(message);
    return nullptr;
  }
  return static_cast<Packed*>(data);
}

// Marks PackedMatrix externals, so matmulPacked can tell them from any other external.
constexpr napi_type_tag kPackedMatrixTag = {0x6a1f0c2b9e4d4b17ULL, 0x8f3e5d2a7c619b40ULL};

// packMatrix(ctx, b, n, k, transB) -> an opaque packed op(B)[k, n] for matmulPacked.
napi_value PackMatrix(napi_env env, napi_callback_info info) {
  Call call(env, info, "packMatrix");
  Context* ctx = call.context();
  long n = call.count(2, "n");
  long k = call.count(3, "k");
  bool trans_b = call.flag(4);
  const float* b = call.floats(1, "b", static_cast<double>(k) * n);
  if (call.failed) return nullptr;
  long size = packed_matrix_size(*ctx->kernels, n, k);
  int64_t bytes = (static_cast<int64_t>(size) * 4 + 63) / 64 * 64;
  float* data = static_cast<float*>(std::aligned_alloc(64, bytes > 0 ? bytes : 64));
  if (data == nullptr) {
    call.fail("out of memory");
    return nullptr;
  }
  pack_matrix(ctx->pool, *ctx->kernels, n, k, {b, trans_b ? k : n, trans_b}, data);
  auto* packed = new PackedMatrix{ctx->kernels, n, k, data, bytes};
  return packed_external<PackedMatrix, free_packed_matrix>(env, packed, kPackedMatrixTag);
}

// matmulPacked(ctx, a, packedB, c, m, n, k, transA, accumulate, bias, residual): matmul with B
// from packMatrix (same context's kernel set, n and k).
napi_value MatmulPacked(napi_env env, napi_callback_info info) {
  Call call(env, info, "matmulPacked");
  Context* ctx = call.context();
  long m = call.count(4, "m");
  long n = call.count(5, "n");
  long k = call.count(6, "k");
  bool trans_a = call.flag(7);
  bool accumulate = call.flag(8);
  const float* a = call.floats(1, "a", static_cast<double>(m) * k);
  float* c = call.floats(3, "c", static_cast<double>(m) * n);
  const float* bias = call.floats(9, "bias", n, true);
  const float* residual = call.floats(10, "residual", static_cast<double>(m) * n, true);
  if (call.failed) return nullptr;
  auto* packed = packed_argument<PackedMatrix>(call, 2, kPackedMatrixTag,
                                               "packedB must come from packMatrix");
  if (packed == nullptr) return nullptr;
  if (packed->kernels != ctx->kernels || packed->n != n || packed->k != k) {
    call.fail("packedB was packed for another kernel set or shape");
    return nullptr;
  }
  gemm_prepacked_parallel(ctx->pool, *ctx->kernels, m, n, k, {a, trans_a ? m : k, trans_a},
                          packed->data, c, n, accumulate, bias, residual);
  return call.undefined();
}

// Marks PackedInt8 externals, so matmulInt8 can tell them from any other external.
constexpr napi_type_tag kPackedInt8Tag = {0x3c5e8a41d2f70b96ULL, 0x91b24e7f0a6c3d58ULL};

// packInt8(ctx, values, scales, n, k) -> an opaque packed int8 weight [n, k] for matmulInt8.
napi_value PackInt8(napi_env env, napi_callback_info info) {
  Call call(env, info, "packInt8");
  Context* ctx = call.context();
  long n = call.count(3, "n");
  long k = call.count(4, "k");
  const int8_t* values = call.int8s(1, "values", static_cast<double>(n) * k);
  const float* scales = call.floats(2, "scales", n);
  if (call.failed) return nullptr;
  PackedInt8* packed = pack_int8(*ctx->kernels->int8, values, scales, n, k);
  if (packed == nullptr) {
    call.fail("out of memory");
    return nullptr;
  }
  return packed_external<PackedInt8, free_packed_int8>(env, packed, kPackedInt8Tag);
}

// matmulInt8(ctx, a, packedB, c, m, bias, residual): C[m, n] = A[m, k] B^T with B from packInt8.
napi_value MatmulInt8(napi_env env, napi_callback_info info) {
  Call call(env, info, "matmulInt8");
  Context* ctx = call.context();
  long m = call.count(4, "m");
  if (call.failed) return nullptr;
  auto* packed =
      packed_argument<PackedInt8>(call, 2, kPackedInt8Tag, "packedB must come from packInt8");
  if (packed == nullptr) return nullptr;
  if (packed->kernels != ctx->kernels->int8) {
    call.fail("packedB was packed for another kernel set");
    return nullptr;
  }
  long n = packed->n;
  const float* a = call.floats(1, "a", static_cast<double>(m) * packed->k);
  float* c = call.floats(3, "c", static_cast<double>(m) * n);
  const float* bias = call.floats(5, "bias", n, true);
  const float* residual = call.floats(6, "residual", static_cast<double>(m) * n, true);
  if (call.failed) return nullptr;
  gemm_int8_parallel(ctx->pool, *packed, m, a, c, bias, residual);
  return call.undefined();
}

// The rows of a table that `ids` reach (the largest id + 1), so that the table's length is checked
// against them; fails on a negative id.
double rows_reached(Call& call, const int32_t* ids, long rows, const char* name) {
  if (call.failed) return 0;
  int32_t largest = -1;
  for (long r = 0; r < rows; ++r) {
    if (ids[r] < 0) {
      call.fail(std::string(name) + " holds a negative id");
      return 0;
    }
    largest = std::max(largest, ids[r]);
  }
  return static_cast<double>(largest) + 1;
}

// embeddingsSum(ctx, word, scales, ids, position, positionIds, tokenType, typeIds, out, rows,
// dim): word a Float32Array, or an Int8Array with a scale per row in `scales`; tokenType and
// typeIds both null or both given.
napi_value EmbeddingsSum(napi_env env, napi_callback_info info) {
  Call call(env, info, "embeddingsSum");
  Context* ctx = call.context();
  long rows = call.count(9, "rows");
  long dim = call.count(10, "dim");
  const int32_t* ids = call.ints(3, "ids", rows);
  const int32_t* position_ids = call.ints(5, "positionIds", rows);
  bool typed = call.present(6);
  const int32_t* type_ids = typed ? call.ints(7, "typeIds", rows) : nullptr;
  double words = rows_reached(call, ids, rows, "ids");
  double positions = rows_reached(call, position_ids, rows, "positionIds");
  double types = typed ? rows_reached(call, type_ids, rows, "typeIds") : 0;
  EmbeddingTables tables = {};
  if (call.present(2)) {
    tables.word_int8 = call.int8s(1, "word", words * dim);
    tables.word_scales = call.floats(2, "scales", words);
  } else {
    tables.word = call.floats(1, "word", words * dim);
  }
  tables.position = call.floats(4, "position", positions * dim);
  tables.token_type = typed ? call.floats(6, "tokenType", types * dim) : nullptr;
  float* out = call.floats(8, "out", static_cast<double>(rows) * dim);
  if (call.failed) return nullptr;
  embeddings_sum(*ctx, tables, ids, position_ids, type_ids, out, rows, dim);
  return call.undefined();
}

// attentionForward(ctx, q, k, v, keyMask, probs, out, batch, seq, heads, headDim, dropoutMask)
napi_value AttentionForward(napi_env env, napi_callback_info info) {
  Call call(env, info, "attentionForward");
  Context* ctx = call.context();
  long batch = call.count(7, "batch");
  long seq = call.count(8, "seq");
  long heads = call.count(9, "heads");
  long head_dim = call.count(10, "headDim");
  double tokens = static_cast<double>(batch) * seq;
  double activations = tokens * heads * head_dim;
  double scores = tokens * heads * seq;
  const float* q = call.floats(1, "q", activations);
  const float* k = call.floats(2, "k", activations);
  const float* v = call.floats(3, "v", activations);
  const float* mask = call.floats(4, "keyMask", tokens);
  float* probs = call.floats(5, "probs", scores);
  float* out = call.floats(6, "out", activations);
  const float* dropout = call.floats(11, "dropoutMask", scores, true);
  if (call.failed) return nullptr;
  attention_forward(*ctx, q, k, v, mask, probs, out, batch, seq, heads, head_dim, dropout);
  return call.undefined();
}

// attentionBackward(ctx, dOut, q, k, v, probs, dq, dk, dv, batch, seq, heads, headDim, dropout)
napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  Call call(env, info, "attentionBackward");
  Context* ctx = call.context();
  long batch = call.count(9, "batch");
  long seq = call.count(10, "seq");
  long heads = call.count(11, "heads");
  long head_dim = call.count(12, "headDim");
  double tokens = static_cast<double>(batch) * seq;
  double activations = tokens * heads * head_dim;
  double scores = tokens * heads * seq;
  const float* d_out = call.floats(1, "dOut", activations);
  const float* q = call.floats(2, "q", activations);
  const float* k = call.floats(3, "k", activations);
  const float* v = call.floats(4, "v", activations);
  const float* probs = call.floats(5, "probs", scores);
  float* dq = call.floats(6, "dq", activations);
  float* dk = call.floats(7, "dk", activations);
  float* dv = call.floats(8, "dv", activations);
  const float* dropout = call.floats(13, "dropoutMask", scores, true);
  if (call.failed) return nullptr;
  attention_backward(*ctx, d_out, q, k, v, probs, dq, dk, dv, batch, seq, heads, head_dim,
                     dropout);
  return call.undefined();
}

// layerNormForward(ctx, x, gamma, beta, out, mean, rstd, rows, dim, eps)
napi_value LayerNormForward(napi_env env, napi_callback_info info) {
  Call call(env, info, "layerNormForward");
  Context* ctx = call.context();
  long rows = call.count(7, "rows");
  long dim = call.count(8, "dim");
  double eps = call.number(9, "eps");
  double size = static_cast<double>(rows) * dim;
  const float* x = call.floats(1, "x", size);
  const float* gamma = call.floats(2, "gamma", dim);
  const float* beta = call.floats(3, "beta", dim);
  float* out = call.floats(4, "out", size);
  float* mean = call.floats(5, "mean", rows);
  float* rstd = call.floats(6, "rstd", rows);
  if (call.failed) return nullptr;
  layer_norm_forward(*ctx, x, gamma, beta, out, mean, rstd, rows, dim, eps);
  return call.undefined();
}

// layerNormBackward(ctx, dOut, x, gamma, mean, rstd, dx, dGamma, dBeta, rows, dim)
napi_value LayerNormBackward(napi_env env, napi_callback_info info) {
  Call call(env, info, "layerNormBackward");
  Context* ctx = call.context();
  long rows = call.count(9, "rows");
  long dim = call.count(10, "dim");
  double size = static_cast<double>(rows) * dim;
  const float* d_out = call.floats(1, "dOut", size);
  const float* x = call.floats(2, "x", size);
  const float* gamma = call.floats(3, "gamma", dim);
  const float* mean = call.floats(4, "mean", rows);
  const float* rstd = call.floats(5, "rstd", rows);
  float* dx = call.floats(6, "dx", size);
  float* d_gamma = call.floats(7, "dGamma", dim);
  float* d_beta = call.floats(8, "dBeta", dim);
  if (call.failed) return nullptr;
  layer_norm_backward(*ctx, d_out, x, gamma, mean, rstd, dx, d_gamma, d_beta, rows, dim);
  return call.undefined();
}

Activation activation_kind(Call& call, size_t i) {
  long kind = call.count(i, "activation");
  if (!call.failed && kind > 3) call.fail("unknown activation");
  return static_cast<Activation>(kind);
}

// activationForward(ctx, kind, x, out, n); kind: 0 gelu, 1 relu, 2 silu, 3 gelu_new
napi_value ActivationForward(napi_env env, napi_callback_info info) {
  Call call(env, info, "activationForward");
  Context* ctx = call.context();
  Activation kind = activation_kind(call, 1);
  long n = call.count(4, "n");
  const float* x = call.floats(2, "x", n);
  float* out = call.floats(3, "out", n);
  if (call.failed) return nullptr;
  activation_forward(*ctx, kind, x, out, n);
  return call.undefined();
}

// activationBackward(ctx, kind, x, dOut, dx, n)
napi_value ActivationBackward(napi_env env, napi_callback_info info) {
  Call call(env, info, "activationBackward");
  Context* ctx = call.context();
  Activation kind = activation_kind(call, 1);
  long n = call.count(5, "n");
  const float* x = call.floats(2, "x", n);
  const float* d_out = call.floats(3, "dOut", n);
  float* dx = call.floats(4, "dx", n);
  if (call.failed) return nullptr;
  activation_backward(*ctx, kind, x, d_out, dx, n);
  return call.undefined();
}

// sumRows(ctx, x, out, rows, cols, accumulate)
napi_value SumRows(napi_env env, napi_callback_info info) {
  Call call(env, info, "sumRows");
  Context* ctx = call.context();
  long rows = call.count(3, "rows");
  long cols = call.count(4, "cols");
  bool accumulate = call.flag(5);
  const float* x = call.floats(1, "x", static_cast<double>(rows) * cols);
  float* out = call.floats(2, "out", cols);
  if (call.failed) return nullptr;
  sum_rows(*ctx, x, out, rows, cols, accumulate);
  return call.undefined();
}

// sumOfSquares(ctx, x, n) -> number
napi_value SumOfSquares(napi_env env, napi_callback_info info) {
  Call call(env, info, "sumOfSquares");
  Context* ctx = call.context();
  long n = call.count(2, "n");
  const float* x = call.floats(1, "x", n);
  if (call.failed) return nullptr;
  napi_value result;
  napi_create_double(env, sum_of_squares(*ctx, x, n), &result);
  return result;
}

// adamw(ctx, param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step)
napi_value AdamW(napi_env env, napi_callback_info info) {
  Call call(env, info, "adamw");
  Context* ctx = call.context();
  long n = call.count(5, "n");
  AdamWStep step;
  step.lr = call.number(6, "lr");
  step.beta1 = call.number(7, "beta1");
  step.beta2 = call.number(8, "beta2");
  step.eps = call.number(9, "eps");
  step.weight_decay = call.number(10, "weightDecay");
  step.step = call.number(11, "step");
  float* param = call.floats(1, "param", n);
  const float* grad = call.floats(2, "grad", n);
  float* m = call.floats(3, "m", n);
  float* v = call.floats(4, "v", n);
  if (call.failed) return nullptr;
  adamw(*ctx, param, grad, m, v, n, step);
  return call.undefined();
}

// logitLosses(ctx, student, teacher, soft, labels, dStudent, rowLosses, rows, vocab,
//             temperature, ceScale, mlmScale, mseScale)
napi_value LogitLosses(napi_env env, napi_callback_info info) {
  Call call(env, info, "logitLosses");
  Context* ctx = call.context();
  long rows = call.count(7, "rows");
  long vocab = call.count(8, "vocab");
  LogitLossScales scales;
  scales.temperature = static_cast<float>(call.number(9, "temperature"));
  scales.ce_scale = static_cast<float>(call.number(10, "ceScale"));
  scales.mlm_scale = static_cast<float>(call.number(11, "mlmScale"));
  scales.mse_scale = static_cast<float>(call.number(12, "mseScale"));
  const double logits = static_cast<double>(rows) * vocab;
  const float* student = call.floats(1, "student", logits);
  const float* teacher = call.floats(2, "teacher", logits);
  const uint8_t* soft = call.bytes(3, "soft", rows);
  const int32_t* labels = call.ints(4, "labels", rows);
  float* d_student = call.floats(5, "dStudent", logits);
  float* row_losses = call.floats(6, "rowLosses", 3.0 * rows);
  if (call.failed) return nullptr;
  for (long r = 0; r < rows; ++r) {
    if (labels[r] != -100 && (labels[r] < 0 || labels[r] >= vocab)) {
      call.fail("labels[" + std::to_string(r) + "] = " + std::to_string(labels[r]) +
                " is outside [0, vocab) and not -100");
      return nullptr;
    }
  }
  logit_losses(*ctx, student, teacher, soft, labels, d_student, row_losses, rows, vocab, scales);
  return call.undefined();
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor functions[] = {
      {"kernelSets", nullptr, KernelSets, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"alloc", nullptr, Alloc, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"createContext", nullptr, CreateContext, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, Matmul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"packMatrix", nullptr, PackMatrix, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmulPacked", nullptr, MatmulPacked, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"packInt8", nullptr, PackInt8, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmulInt8", nullptr, MatmulInt8, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"embeddingsSum", nullptr, EmbeddingsSum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attentionForward", nullptr, AttentionForward, nullptr, nullptr, nullptr, napi_default,
       nullptr},
      {"attentionBackward", nullptr, AttentionBackward, nullptr, nullptr, nullptr, napi_default,
       nullptr},
      {"layerNormForward", nullptr, LayerNormForward, nullptr, nullptr, nullptr, napi_default,
       nullptr},
      {"layerNormBackward", nullptr, LayerNormBackward, nullptr, nullptr, nullptr, napi_default,
       nullptr},
      {"activationForward", nullptr, ActivationForward, nullptr, nullptr, nullptr, napi_default,
       nullptr},
      {"activationBackward", nullptr, ActivationBackward, nullptr, nullptr, nullptr,
       napi_default, nullptr},
      {"sumRows", nullptr, SumRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sumOfSquares", nullptr, SumOfSquares, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamw", nullptr, AdamW, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"logitLosses", nullptr, LogitLosses, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
