// One blocking table per ISA: MR x NR register tile, KC x NC packed B block,
// MC rows per IC block, and the dot tile of the unpacked NT path.
// include/mote/spec.h's GemmBlockingLimits bounds every row of this table
// (the planner sizes the packing scratch from it); a static_assert checks it.
//
//                 MR  NR  KC   MC   NC   dot MR x NJ   registers (acc + B + A)
//   scalar         4   4  256  128  384  4 x 4         -
//   avx2 (+fma)    6  16  256  128  384  4 x 8         12 + 2 + 1 of 16 ymm
//   avx512f        8  48  256  128  384  4 x 16        24 + 3 + 1 of 32 zmm
//   neon64 (a64)   8  16  256  128  384  4 x 4         16 + 4 + 2 of 32 q
//   neon (armv7)   4   8  256  128  384  4 x 4          8 + 2 + 1 of 16 q
//
// avx2: 6 x 16 (BLIS's Haswell/Zen shape) against the 4 x 24 it replaced,
// Zen 3, medians of 3: fwd1 at batch 32 82.2 -> 62.5 us, fwd2 at batch 256
// 21.7 -> 18.1 us (n = 30 = 16 + 14: 94% of the lanes, where 24 + 6 left a
// 6-lane tile running 4 FMAs per k), bwdW2 at batch 256 24.0 -> 19.4 us.
// NR = NV vectors. KC: a 256 x 48 panel (48 KB) streams from L2 while the
// MR x KC sliver of A (8 KB) stays in L1. NC bounds the packing scratch at
// KC * NC floats (384 KB), enough for every model dimension up to 784 in two
// JC blocks.
//
// Batch 1 (generic/gemv_xsimd.h): gemv_nv = most vectors of C one NN pass
// keeps in registers (times gemv_u accumulator sets), gemv_nj = rows of B per
// NT group (one accumulator each, a multiple of the vector width), gemv_kv =
// vectors of A held in registers per NT chunk of k.
//
//                 gemv NV x U   NT NJ x KV   registers
//   scalar         -             -            (loops)
//   avx2          13 x 1         8 x 6       13 + 2 / 8 + 6 + 1 of 16 ymm
//   avx512f        8 x 2        16 x 8       16 + 2 / 16 + 8 + 1 of 32 zmm
//   neon64        16 x 1         8 x 8       16 + 4 / 8 + 8 + 4 of 32 q
//   neon (armv7)   8 x 1         8 x 4        8 + 4 / 8 + 4 + 2 of 16 q
// (avx2: 13 = n 100 in one pass, fwd1/1 3.60 -> 2.77 us against 12; avx512f
// U = 1, 2, 3 measure the same; the NEON rows are sized, not measured.)
#pragma once
#include "mote/spec.h"

namespace mote::kernels::tiles {

struct Table {
  int mr, nv, kc, mc, nc, dot_mr, dot_nj;
  int gemv_nv, gemv_u, gemv_nj, gemv_kv;
};

inline constexpr Table kScalar{4, 4, 256, 128, 384, 4, 4, 1, 1, 1, 1};
inline constexpr Table kAvx2{6, 2, 256, 128, 384, 4, 8, 13, 1, 8, 6};
inline constexpr Table kAvx512{8, 3, 256, 128, 384, 4, 16, 8, 2, 16, 8};
inline constexpr Table kNeon64{8, 4, 256, 128, 384, 4, 4, 16, 1, 8, 8};
inline constexpr Table kNeon{4, 2, 256, 128, 384, 4, 4, 8, 1, 8, 4};

constexpr bool within_limits(const Table& t, int width) {
  return t.mr <= kGemmLimits.mr && t.nv * width <= kGemmLimits.nr && t.kc <= kGemmLimits.kc &&
         t.mc <= kGemmLimits.mc && t.nc <= kGemmLimits.nc;
}
static_assert(within_limits(kScalar, 1) && within_limits(kAvx2, 8) && within_limits(kAvx512, 16) &&
                  within_limits(kNeon64, 4) && within_limits(kNeon, 4),
              "GemmBlockingLimits in mote/spec.h must bound every ISA table");

}  // namespace mote::kernels::tiles
