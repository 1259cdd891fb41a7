// AVX2 + FMA kernel set: compiled with -mavx2 -mfma only (kernels/CMakeLists.txt).
#define MOTE_KERNEL_TU avx2_tu
#include "kernels/generic/make_isa.h"
#include "kernels/registry.h"
#include "kernels/tiles.h"

namespace mote::kernels {

namespace {
using Arch = xsimd::fma3<xsimd::avx2>;
constexpr tiles::Table T = tiles::kAvx2;
constexpr IsaKernels kAvx2 =
    avx2_tu::make_isa_kernels<Arch, T.mr, T.nv, T.kc, T.mc, T.nc, T.dot_mr, T.dot_nj, T.gemv_nv, T.gemv_u,
                                T.gemv_nj, T.gemv_kv>("avx2");
}  // namespace

template <>
const IsaKernels* GetKernels::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>) const {
  return &kAvx2;
}

}  // namespace mote::kernels
