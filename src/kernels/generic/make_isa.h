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
// The kernels only the x86 sets (AVX2, AVX-512) have: nullptr in the others.
struct X86Only {
  void (*tn_tail)(const TileArgs&) = nullptr;
  void (*nn_tail)(const TileArgs&) = nullptr;
  void (*tc)(const TileArgs&) = nullptr;
  int tc_rows = 0;
};
template <class A>
constexpr X86Only x86_only() {
  X86Only k;
#if defined(__AVX2__)
  if constexpr (vf<A>::size >= 8) {
    k.tn_tail = &f32_gemm_tn_tail<A>;
    k.nn_tail = &f32_gemm_nn_tail<A>;
    k.tc = &f32_gemm_tile_tc<A>;
    k.tc_rows = kTcRows<A>;
  }
#endif
  return k;
}

template <class A, int MR, int NV, int KC, int MC, int NC, int DMR, int DNJ, int GV, int GU, int GNJ, int GKV>
constexpr IsaKernels make_isa_kernels(const char* name) {
  constexpr int W = static_cast<int>(vf<A>::size);
  static_assert(NC % (NV * W) == 0, "NC is a multiple of NR");
  static_assert(DNJ <= W, "a dot tile's row fits one vector");
  constexpr X86Only only = x86_only<A>();
  return IsaKernels{name,
                    W,
                    MR,
                    NV * W,
                    KC,
                    MC,
                    NC,
                    DMR,
                    DNJ,
                    only.tc_rows,
                    &tile_packed<A, MR, NV>,
                    &tile_direct<A, MR, NV>,
                    true,
                    &tile_dot<A, DMR, DNJ>,
                    &gemv_nn<A, GV, GU>,
                    &gemv_nt<A, GNJ, GKV>,
                    only.tn_tail,
                    only.nn_tail,
                    only.tc,
                    &ger_tn<A>,
                    &pack_b<A, NV * W>,
                    &bce_sigmoid_row<A>,
                    &bce_logits_row<A>,
                    &sgd<A>,
                    &sgd_swap<A>,
                    &all_finite<A>,
                    &act_forward<A>,
                    &exp_array<A>,
                    &expm1_array<A>,
                    &u8_to_f32<A>};
}

}  // namespace mote::kernels::MOTE_KERNEL_TU
