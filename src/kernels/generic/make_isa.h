// make_isa_kernels: one ISA's IsaKernels table from the generic templates.
// Each kernel TU (kernels/x86/*.cpp, kernels/arm/*.cpp) defines
// MOTE_KERNEL_TU, includes this with its own compile flags and instantiates
// the table with that ISA's blocking (kernels/tiles.h).
#pragma once
#include "kernels/generic/elementwise_xsimd.h"
#include "kernels/generic/gemm_xsimd.h"
#include "kernels/generic/gemv_xsimd.h"

namespace mote::kernels::MOTE_KERNEL_TU {

// ------------------------------------------------------------ the table
template <class A>
constexpr void (*tn_tail_kernel())(const TileArgs&) {
#if defined(__AVX512F__)
  if constexpr (vf<A>::size == 16) return &f32_gemm_tn_tail<A>;
#endif
  return nullptr;
}
template <class A>
constexpr void (*nn_tail_kernel())(const TileArgs&) {
#if defined(__AVX512F__)
  if constexpr (vf<A>::size == 16) return &f32_gemm_nn_tail<A>;
#endif
  return nullptr;
}
template <class A>
constexpr void (*tc_kernel())(const TileArgs&) {
#if defined(__AVX512F__)
  if constexpr (vf<A>::size == 16) return &f32_gemm_tile_tc<A>;
#endif
  return nullptr;
}

template <class A, int MR, int NV, int KC, int MC, int NC, int DMR, int DNJ, int GV, int GU, int GNJ, int GKV>
constexpr IsaKernels make_isa_kernels(const char* name) {
  constexpr int W = static_cast<int>(vf<A>::size);
  static_assert(NC % (NV * W) == 0, "NC is a multiple of NR");
  static_assert(DNJ <= W, "a dot tile's row fits one vector");
  return IsaKernels{name,
                    W,
                    MR,
                    NV * W,
                    KC,
                    MC,
                    NC,
                    DMR,
                    DNJ,
                    &tile_packed<A, MR, NV>,
                    &tile_direct<A, MR, NV>,
                    &tile_dot<A, DMR, DNJ>,
                    &gemv_nn<A, GV, GU>,
                    &gemv_nt<A, GNJ, GKV>,
                    tn_tail_kernel<A>(),
                    nn_tail_kernel<A>(),
                    tc_kernel<A>(),
                    &pack_b<A, NV * W>,
                    &bce_sigmoid_row<A>,
                    &sgd<A>,
                    &all_finite<A>,
                    &act_forward<A>,
                    &exp_array<A>,
                    &expm1_array<A>,
                    &u8_to_f32<A>};
}

}  // namespace mote::kernels::MOTE_KERNEL_TU
