// The AVX2 int8 kernels. AVX2 has no 8-bit dot product that cannot saturate (vpmaddubsw's int16
// pair sums overflow for 255 x 127 x 2), so both operands are widened to int16 and multiplied with
// vpmaddwd, exact, two depths a lane: the same multiplies per instruction as vpmaddubsw followed
// by the vpmaddwd every saturating scheme needs to reach int32. B stays int8 in its panels and is
// widened as it is loaded: packing it as int16 made tiles on cached weights 10-20% faster but whole
// models no faster (their weights come from memory, twice the bytes), at twice the memory.
// Compiled with -mavx2 -mfma.

#include <immintrin.h>

#include "int8.h"
#include "int8_avx2.h"

namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

// The full 6-row tile's depth loop in assembly: its 12 accumulators, 2 B vectors, the broadcast A
// pair and the product take all 16 ymm registers, and GCC, given the same in intrinsics, spilled
// accumulators to the stack on every step (0.6x the speed). Always 6 rows of A, `stride` bytes
// apart (gemm_int8_parallel pads A to whole tiles).
void int8_steps_6x16(long kp, const int16_t* a, long stride, const int8_t* bp,
                     __m256i* acc) {
  const char* a0 = reinterpret_cast<const char*>(a);
  const char* a3 = a0 + 3 * stride;
  const char* end = a0 + kp * static_cast<long>(sizeof(int16_t));
  // ymm0-11: the accumulators (row r in ymm 2r, 2r + 1); ymm12-13: B; ymm14: A; ymm15: product.
  asm volatile(
#define ZERO(r) "vpxor %%xmm" #r ", %%xmm" #r ", %%xmm" #r "\n\t"
      ZERO(0) ZERO(1) ZERO(2) ZERO(3) ZERO(4) ZERO(5)
      ZERO(6) ZERO(7) ZERO(8) ZERO(9) ZERO(10) ZERO(11)
#undef ZERO
      "1:\n\t"
      "vpmovsxbw (%[b]), %%ymm12\n\t"
      "vpmovsxbw 16(%[b]), %%ymm13\n\t"
#define ROW(address, lo, hi)                      \
      "vpbroadcastd " address ", %%ymm14\n\t"   \
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\t"  \
      "vpaddd %%ymm15, %%ymm" #lo ", %%ymm" #lo "\n\t" \
      "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n\t"  \
      "vpaddd %%ymm15, %%ymm" #hi ", %%ymm" #hi "\n\t"
      ROW("(%[a0])", 0, 1)
      ROW("(%[a0],%[s],1)", 2, 3)
      ROW("(%[a0],%[s],2)", 4, 5)
      ROW("(%[a3])", 6, 7)
      ROW("(%[a0],%[s],4)", 8, 9)
      ROW("(%[a3],%[s],2)", 10, 11)
#undef ROW
      "addq $32, %[b]\n\t"
      "addq $4, %[a0]\n\t"
      "addq $4, %[a3]\n\t"
      "cmpq %[end], %[a0]\n\t"
      "jb 1b\n\t"
#define STORE(r) "vmovdqu %%ymm" #r ", " #r "*32(%[acc])\n\t"
      STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
      STORE(6) STORE(7) STORE(8) STORE(9) STORE(10) STORE(11)
#undef STORE
      : [a0] "+r"(a0), [a3] "+r"(a3), [b] "+r"(bp)
      : [s] "r"(stride), [end] "r"(end), [acc] "r"(acc)
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
}

}  // namespace

const Int8Kernels& avx2_int8_kernels() {
  static const Int8Kernels kernels = {
      "avx2", kMR, kNR, 2, 1, 2, 4, &tile_6x16<int16_t, &int8_steps_6x16>,
      &quantize_row_avx2<int16_t>};
  return kernels;
}
