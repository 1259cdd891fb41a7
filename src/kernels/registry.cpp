// The kernel sets compiled into this binary and the one this CPU runs.
// x86: xsimd::dispatch over {avx512f, fma3<avx2>, sse2 -> scalar}, i.e. one
// binary runs everywhere. ARM: NEON chosen at compile time. Elsewhere
// (Cortex-M, or no xsimd): scalar.
#include "kernels/registry.h"

#if MOTE_KERNELS_XSIMD_DISPATCH
#include <xsimd/xsimd.hpp>
#endif

namespace mote::kernels {

#if MOTE_KERNELS_AVX512F
template <>
const IsaKernels* GetKernels::operator()<xsimd::avx512f>(xsimd::avx512f) const;
#endif
#if MOTE_KERNELS_AVX2
template <>
const IsaKernels* GetKernels::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>) const;
#endif
#if MOTE_KERNELS_XSIMD_DISPATCH
template <>
const IsaKernels* GetKernels::operator()<xsimd::sse2>(xsimd::sse2) const {
  return &scalar_kernels();
}
#endif

namespace {

struct Registry {
  const IsaKernels* sets[4] = {};
  int count = 0;
  Registry() {
#if MOTE_KERNELS_AVX512F
    sets[count++] = GetKernels{}(xsimd::avx512f{});
#endif
#if MOTE_KERNELS_AVX2
    sets[count++] = GetKernels{}(xsimd::fma3<xsimd::avx2>{});
#endif
#if MOTE_KERNELS_NEON
    sets[count++] = &neon_kernels();
#endif
    sets[count++] = &scalar_kernels();
  }
};

const Registry& registry() {
  static const Registry r;
  return r;
}

bool same_name(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

}  // namespace

const IsaKernels* const* compiled_isas(int* count) {
  *count = registry().count;
  return registry().sets;
}

bool isa_supported(const IsaKernels& k) {
#if MOTE_KERNELS_XSIMD_DISPATCH
  const auto avail = xsimd::available_architectures();
  if (same_name(k.name, "avx512")) return avail.avx512f != 0;
  if (same_name(k.name, "avx2")) return avail.fma3_avx2 != 0;
#endif
  (void)k;
  (void)same_name;
  return true;  // scalar, and NEON (a compile-time choice: the target has it)
}

const IsaKernels& best_isa() {
#if MOTE_KERNELS_XSIMD_DISPATCH
#if MOTE_KERNELS_AVX512F && MOTE_KERNELS_AVX2
  using Archs = xsimd::arch_list<xsimd::avx512f, xsimd::fma3<xsimd::avx2>, xsimd::sse2>;
#elif MOTE_KERNELS_AVX512F
  using Archs = xsimd::arch_list<xsimd::avx512f, xsimd::sse2>;
#else
  using Archs = xsimd::arch_list<xsimd::fma3<xsimd::avx2>, xsimd::sse2>;
#endif
  static const IsaKernels* best = xsimd::dispatch<Archs>(GetKernels{})();
  return *best;
#elif MOTE_KERNELS_NEON
  return neon_kernels();
#else
  return scalar_kernels();
#endif
}

const IsaKernels& scalar_isa() { return scalar_kernels(); }

}  // namespace mote::kernels
