// Which micro-kernels this CPU can run, decided once at run time.

#include <cstring>

#include "kernel_set.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif
#if defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

namespace {

#if defined(__x86_64__) || defined(_M_X64)
// AVX-VNNI: CPUID leaf 7, sub-leaf 1, EAX bit 4, read directly (older compilers'
// __builtin_cpu_supports do not know it); its ymm registers are AVX's, whose support by the OS
// the avx2 check covers.
bool has_avx_vnni() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) return false;
  return (eax >> 4) & 1;
}
#endif

#if defined(__aarch64__)
// FEAT_DotProd (sdot/udot), as the operating system reports it.
bool has_dot_product() {
#if defined(__linux__)
  constexpr unsigned long kHwcapAsimdDp = 1UL << 20;  // HWCAP_ASIMDDP in <asm/hwcap.h>
  return (getauxval(AT_HWCAP) & kHwcapAsimdDp) != 0;
#elif defined(__APPLE__)
  int value = 0;
  size_t size = sizeof value;
  return sysctlbyname("hw.optional.arm.FEAT_DotProd", &value, &size, nullptr, 0) == 0 && value;
#else
  return false;
#endif
}
#endif

}  // namespace

int available_kernel_sets(const KernelSet** out, int capacity) {
  int count = 0;
  auto add = [&](const KernelSet& set) {
    if (count < capacity) out[count++] = &set;
  };
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  bool avx512 = __builtin_cpu_supports("avx512f");
  bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx512 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512vnni")) {
    add(avx512_vnni_kernel_set());
  }
  if (avx512) add(avx512_kernel_set());
  if (avx2 && has_avx_vnni()) add(avx2_vnni_kernel_set());
  if (avx2) add(avx2_kernel_set());
#endif
#if defined(__aarch64__)
  // NEON is part of the AArch64 baseline: every arm64 CPU runs it.
  if (has_dot_product()) add(neon_dotprod_kernel_set());
  add(neon_kernel_set());
#endif
  add(generic_kernel_set());
  return count;
}

const KernelSet* find_kernel_set(const char* name) {
  const KernelSet* sets[8];
  int count = available_kernel_sets(sets, 8);
  for (int i = 0; i < count; ++i) {
    if (std::strcmp(sets[i]->name, name) == 0) return sets[i];
  }
  return nullptr;
}
