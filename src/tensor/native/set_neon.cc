// The arm64 NEON kernel set: an 8 x 12 matrix-multiply tile held in 24 of AArch64's 32 vector
// registers (each k step loads 2 vectors of A and 3 of B and does 24 multiply-adds by lane), and
// the elementwise loops, which the compiler vectorizes to NEON (baseline on AArch64, no flags).

#include <arm_neon.h>

#include <utility>

#include "elementwise.h"
#include "kernel_set.h"
#include "tile.h"

namespace {

constexpr int kMR = 8;
constexpr int kNR = 12;

// Row R of the tile += A's value for row R (lane R % 4 of its vector) times B's 12 values. The
// lane must be a compile-time constant, hence a template rather than a loop.
template <int R>
inline __attribute__((always_inline)) void multiply_add_row(float32x4_t (&acc)[3],
                                                            float32x4_t a, float32x4_t b0,
                                                            float32x4_t b1, float32x4_t b2) {
  acc[0] = vfmaq_laneq_f32(acc[0], b0, a, R % 4);
  acc[1] = vfmaq_laneq_f32(acc[1], b1, a, R % 4);
  acc[2] = vfmaq_laneq_f32(acc[2], b2, a, R % 4);
}

template <int ROWS, int... R>
inline __attribute__((always_inline)) void multiply_add_rows(
    std::integer_sequence<int, R...>, float32x4_t (&acc)[ROWS][3], float32x4_t a0,
    float32x4_t a1, float32x4_t b0, float32x4_t b1, float32x4_t b2) {
  (multiply_add_row<R>(acc[R], R < 4 ? a0 : a1, b0, b1, b2), ...);
}

template <int ROWS>
struct NeonTile {
  static void run(int cols, long k, const float* ap, const float* bp, float* c, long ldc,
                  bool load, const float* bias) {
    float32x4_t acc[ROWS][3];
    #pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) acc[r][0] = acc[r][1] = acc[r][2] = vdupq_n_f32(0.0f);
    for (long p = 0; p < k; ++p) {
      // The packed panel always holds kMR values per step (zero-padded), so both loads are safe.
      float32x4_t a0 = vld1q_f32(ap);
      float32x4_t a1 = ROWS > 4 ? vld1q_f32(ap + 4) : a0;
      float32x4_t b0 = vld1q_f32(bp);
      float32x4_t b1 = vld1q_f32(bp + 4);
      float32x4_t b2 = vld1q_f32(bp + 8);
      multiply_add_rows<ROWS>(std::make_integer_sequence<int, ROWS>(), acc, a0, a1, b0, b1, b2);
      ap += kMR;
      bp += kNR;
    }
    if (cols == kNR) {
      float32x4_t zero = vdupq_n_f32(0.0f);
      float32x4_t bias0 = bias ? vld1q_f32(bias) : zero;
      float32x4_t bias1 = bias ? vld1q_f32(bias + 4) : zero;
      float32x4_t bias2 = bias ? vld1q_f32(bias + 8) : zero;
      #pragma GCC unroll 16
      for (int r = 0; r < ROWS; ++r) {
        float* row = c + r * ldc;
        float32x4_t v0 = vaddq_f32(acc[r][0], bias0);
        float32x4_t v1 = vaddq_f32(acc[r][1], bias1);
        float32x4_t v2 = vaddq_f32(acc[r][2], bias2);
        if (load) {
          v0 = vaddq_f32(vld1q_f32(row), v0);
          v1 = vaddq_f32(vld1q_f32(row + 4), v1);
          v2 = vaddq_f32(vld1q_f32(row + 8), v2);
        }
        vst1q_f32(row, v0);
        vst1q_f32(row + 4, v1);
        vst1q_f32(row + 8, v2);
      }
    } else {
      // NEON has no masked loads or stores: a partial tile goes through a buffer of one row.
      float values[kNR];
      // Unrolled like every loop over acc: indexing it at run time would keep it in memory.
      #pragma GCC unroll 16
      for (int r = 0; r < ROWS; ++r) {
        float* row = c + r * ldc;
        vst1q_f32(values, acc[r][0]);
        vst1q_f32(values + 4, acc[r][1]);
        vst1q_f32(values + 8, acc[r][2]);
        for (int j = 0; j < cols; ++j) {
          float value = values[j] + (bias ? bias[j] : 0.0f);
          row[j] = load ? row[j] + value : value;
        }
      }
    }
  }
};

}  // namespace

const KernelSet& neon_kernel_set() {
  static const KernelSet set = {"neon", kMR, kNR, 96, 256, 1020,
                                &tile_any_rows<NeonTile, kMR>, &activation_forward,
                                &activation_backward, &softmax_row,
                                &layer_norm_row, &layer_norm_backward_row,
                                &logit_loss_row, nullptr, &generic_int8_kernels()};
  return set;
}

const KernelSet& neon_dotprod_kernel_set() {
  static const KernelSet set =
      with_int8_kernels(neon_kernel_set(), "neon-dotprod", neon_dotprod_int8_kernels());
  return set;
}
