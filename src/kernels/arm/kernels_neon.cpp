// NEON kernel set, chosen at compile time: neon64 on aarch64 (baseline), neon
// on armv7 built with -mfpu=neon (the toolchain file's flags).
#define MOTE_KERNEL_TU neon_tu
#include "kernels/generic/make_isa.h"
#include "kernels/registry.h"
#include "kernels/tiles.h"

namespace mote::kernels {

namespace {
#if XSIMD_WITH_NEON64
using Arch = xsimd::neon64;
constexpr tiles::Table T = tiles::kNeon64;
constexpr const char* kName = "neon64";
#elif XSIMD_WITH_NEON
using Arch = xsimd::neon;
constexpr tiles::Table T = tiles::kNeon;
constexpr const char* kName = "neon";
#else
#error "kernels_neon.cpp needs NEON (aarch64, or armv7 with -mfpu=neon)"
#endif
constexpr IsaKernels kNeon =
    neon_tu::make_isa_kernels<Arch, T.mr, T.nv, T.kc, T.mc, T.nc, T.dot_mr, T.dot_nj, T.gemv_nv, T.gemv_u,
                                T.gemv_nj, T.gemv_kv>(kName);
}  // namespace

const IsaKernels& neon_kernels() { return kNeon; }

}  // namespace mote::kernels
