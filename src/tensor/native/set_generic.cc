// The portable kernel set in plain C++: compilers vectorize its loops for the baseline of the
// target (SSE2 on x86-64, NEON on arm64).

#include "elementwise.h"
#include "kernel_set.h"
#include "tile.h"

namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

template <int ROWS>
struct GenericTile {
  static void run(int cols, long k, const float* ap, const float* bp, float* c, long ldc,
                  bool load, const float* bias) {
    float acc[ROWS][kNR] = {};
    for (long p = 0; p < k; ++p) {
      #pragma GCC unroll 16
      for (int r = 0; r < ROWS; ++r) {
        float av = ap[p * kMR + r];
        for (int j = 0; j < kNR; ++j) acc[r][j] += av * bp[p * kNR + j];
      }
    }
    #pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
      float* row = c + r * ldc;
      for (int j = 0; j < cols; ++j) {
        float value = acc[r][j] + (bias ? bias[j] : 0.0f);
        row[j] = load ? row[j] + value : value;
      }
    }
  }
};

}  // namespace

const KernelSet& generic_kernel_set() {
  static const KernelSet set = {"generic", kMR, kNR, 96, 256, 1024,
                                &tile_any_rows<GenericTile, kMR>, &activation_forward,
                                &activation_backward, &softmax_row,
                                &layer_norm_row, &layer_norm_backward_row,
                                &logit_loss_row, nullptr, &generic_int8_kernels()};
  return set;
}
