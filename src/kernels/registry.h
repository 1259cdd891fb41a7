// Internal to kernels/: how each ISA translation unit hands its table to the
// registry. On x86 the registry picks one with xsimd::dispatch over the
// functor below, specialized once per Arch in that Arch's own TU.
#pragma once
#include "kernels/gemm_kernels.h"

// Feature macros of this build, always 0 or 1 (CMake sets those it compiles).
#ifndef MOTE_KERNELS_AVX2
#define MOTE_KERNELS_AVX2 0
#endif
#ifndef MOTE_KERNELS_AVX512F
#define MOTE_KERNELS_AVX512F 0
#endif
#ifndef MOTE_KERNELS_NEON
#define MOTE_KERNELS_NEON 0
#endif
#define MOTE_KERNELS_XSIMD_DISPATCH (MOTE_KERNELS_AVX2 || MOTE_KERNELS_AVX512F)

namespace mote::kernels {

const IsaKernels& scalar_kernels();  // kernels/scalar/kernels_scalar.cpp
#if MOTE_KERNELS_NEON
const IsaKernels& neon_kernels();  // kernels/arm/kernels_neon.cpp (neon64 or neon)
#endif

// xsimd::dispatch functor: operator()(Arch) returns Arch's table.
struct GetKernels {
  template <class Arch>
  const IsaKernels* operator()(Arch) const;
};

}  // namespace mote::kernels
