// The int8 kernels on AVX-VNNI (Intel Alder Lake and later client CPUs, Sapphire Rapids, AMD Zen 5
// with AVX-512 off): vpdpbusd multiplies four unsigned bytes of A by four signed bytes of B and
// adds the four products into each int32 lane, exact for 255 x 127 x 4. A's quantized values go in
// as they are (0..255, the zero point corrected in the epilogue as for AVX2). A 6 x 16 tile: 12
// accumulators, 2 vectors of B (16 columns x 4 depths) and two for the broadcast A quads, in 16
// ymm registers. Compiled with -mavx2 -mfma -mavxvnni; used only when the CPU reports AVX-VNNI.

#include <immintrin.h>

#include "int8.h"
#include "int8_avx2.h"

namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;
constexpr int kDepthGroup = 4;

// The tile's depth loop in assembly, as for AVX2 (GCC copied and spilled intrinsic accumulators).
// Always 6 rows of A, `stride` bytes apart (gemm_int8_parallel pads A to whole tiles). {vex}: the
// AVX-VNNI encoding (the assembler would otherwise pick AVX512-VNNI's).
void steps_6x16(long kp, const uint8_t* a, long stride, const int8_t* bp, __m256i* acc) {
  const uint8_t* a3 = a + 3 * stride;
  const uint8_t* end = a + kp;
  // ymm0-11: the accumulators (row r in ymm 2r, 2r + 1); ymm12-13: B; ymm14-15: A, in turn.
  asm volatile(
#define ZERO(r) "vpxor %%xmm" #r ", %%xmm" #r ", %%xmm" #r "\n\t"
      ZERO(0) ZERO(1) ZERO(2) ZERO(3) ZERO(4) ZERO(5)
      ZERO(6) ZERO(7) ZERO(8) ZERO(9) ZERO(10) ZERO(11)
#undef ZERO
      "1:\n\t"
      "vmovdqa (%[b]), %%ymm12\n\t"
      "vmovdqa 32(%[b]), %%ymm13\n\t"
#define ROW(address, a, lo, hi)                                  \
      "vpbroadcastd " address ", %%ymm" #a "\n\t"                \
      "%{vex%} vpdpbusd %%ymm12, %%ymm" #a ", %%ymm" #lo "\n\t"  \
      "%{vex%} vpdpbusd %%ymm13, %%ymm" #a ", %%ymm" #hi "\n\t"
      ROW("(%[a0])", 14, 0, 1)
      ROW("(%[a0],%[s],1)", 15, 2, 3)
      ROW("(%[a0],%[s],2)", 14, 4, 5)
      ROW("(%[a3])", 15, 6, 7)
      ROW("(%[a0],%[s],4)", 14, 8, 9)
      ROW("(%[a3],%[s],2)", 15, 10, 11)
#undef ROW
      "addq $64, %[b]\n\t"
      "addq $4, %[a0]\n\t"
      "addq $4, %[a3]\n\t"
      "cmpq %[end], %[a0]\n\t"
      "jb 1b\n\t"
#define STORE(r) "vmovdqu %%ymm" #r ", " #r "*32(%[acc])\n\t"
      STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
      STORE(6) STORE(7) STORE(8) STORE(9) STORE(10) STORE(11)
#undef STORE
      : [a0] "+r"(a), [a3] "+r"(a3), [b] "+r"(bp)
      : [s] "r"(stride), [end] "r"(end), [acc] "r"(acc)
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
}

}  // namespace

const Int8Kernels& avx_vnni_int8_kernels() {
  static const Int8Kernels kernels = {
      "avx-vnni", kMR, kNR, 1, 1, kDepthGroup, kDepthGroup, &tile_6x16<uint8_t, &steps_6x16>,
      &quantize_row_avx2<uint8_t>};
  return kernels;
}
