// AVX-512F kernel set: compiled with -mavx512f -mavx2 -mfma only (kernels/CMakeLists.txt).
#define MOTE_KERNEL_TU avx512f_tu
#include "kernels/generic/make_isa.h"
#include "kernels/registry.h"
#include "kernels/tiles.h"

namespace mote::kernels {

namespace {
using Arch = xsimd::avx512f;
constexpr tiles::Table T = tiles::kAvx512;
constexpr IsaKernels kAvx512 =
    avx512f_tu::make_isa_kernels<Arch, T.mr, T.nv, T.kc, T.mc, T.nc, T.dot_mr, T.dot_nj, T.gemv_nv, T.gemv_u,
                                T.gemv_nj, T.gemv_kv>("avx512");
}  // namespace

template <>
const IsaKernels* GetKernels::operator()<xsimd::avx512f>(xsimd::avx512f) const {
  return &kAvx512;
}

}  // namespace mote::kernels
