// The kernel sets behind gemm::run: one table per ISA of microkernels, the
// packing routine and the element-wise kernels of a training step, with the
// blocking (MR, NR, KC, MC, NC) that goes with them.
//
//   const mote::kernels::IsaKernels* k = mote::kernels::best_isa();   // xsimd::dispatch on x86
//   k->tile(args);                                                      // one MR x NR tile
//
// Microkernel contract (f32_gemm_<MR>x<NR>__<isa>, epilogue fused):
//   C[mr x nr] (+)= A[mr x kc] * B[kc x nr], mr <= MR, nr <= NR, then when
//   `last` the epilogue of kernels/gemm_problem.h (bias, act, * act'(Y), colsum).
//   A is read in place, XNNPACK-style (broadcast of one element per row and k):
//   element (r, k) at a[r * rs_a + k * cs_a] (op N: rs_a = lda, cs_a = 1;
//   op T: rs_a = 1, cs_a = lda). Rows r >= mr are never read or written.
//
//   `tile`: B is a packed panel written by pack_b, kc rows of w floats where w
//   is nr rounded up to whole vectors, zero padded:
//
//        panel p (columns jr .. jr+NR-1 of the KC x NC block of op(B))
//        k=0   | b00 b01 ... b0,nr-1 0 .. 0 |   <- w floats, one row per k
//        k=1   | b10 b11 ...                |
//        ...                                     panel p+1 follows at kc * NR
//
//   `tile_direct`: B (op N) read in place, row k at b + k * ldb; the last
//   vector of a row is a masked load when nr is not a whole number of vectors.
//   `tile_dot`: C = A * B^T with A (op N) and B rows (n x k) read in place:
//   dot products along k, reduced in the store step (small-batch NT path).
//   `gemv_nn` / `gemv_nt`: the same two layouts for one row of A and all of
//   C's columns at once (batch-1 inference), see kernels/generic/gemv_xsimd.h.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/gemm_problem.h"

namespace mote::kernels {

struct TileArgs {
  int mr = 0, nr = 0, kc = 0;
  // `tile` only: panels > 1 (t.nr == NR) sweeps that many panels in one call,
  // panel p of B at b + p * kc * NR, its C columns and epilogue operands p * NR right.
  int panels = 1;
  const float* a = nullptr;
  std::ptrdiff_t rs_a = 0, cs_a = 0;
  const float* b = nullptr;
  std::ptrdiff_t ldb = 0;  // tile_direct / tile_dot; packed panels derive it from nr
  float* c = nullptr;
  std::ptrdiff_t ldc = 0;
  bool load_c = false;  // C += product (else C = product)
  bool last = false;    // the last K block: apply the epilogue
  // tile_tc only: C's rows may be written 8 columns wide from t.c, past the
  // t.mr < 8 columns of this call (the next call rewrites those columns).
  bool wide_store = false;
  // Epilogue, pointers offset to this tile's (row, column) origin.
  const float* bias = nullptr;
  Activation act = Activation::linear;
  const float* dact_y = nullptr;
  std::ptrdiff_t ld_dact = 0;
  Activation dact = Activation::linear;
  float* colsum = nullptr;
  // `tile` and `tile_tn_tail` with op(A) = A^T: a second segment of K, rows
  // k >= kc1 of op(A) read from a2 (same strides), B's panel continuing
  // (the two weight-gradient products of a tied kernel in one pass).
  const float* a2 = nullptr;
  int kc1 = 0;
  // tile_tc, and tile_direct where IsaKernels::direct_bce: sigmoid + BCE
  // against the targets bce_t (row i of C at bce_t + i * ld_bce_t), C
  // receiving dz and the loss sum of the tile added to *bce_sum
  // (vmath::vsigmoid_bce; act must be sigmoid).
  const float* bce_t = nullptr;
  std::ptrdiff_t ld_bce_t = 0;
  float bce_scale = 0.0f;
  double* bce_sum = nullptr;
};

// K as the tiles walk it: one segment [0, kc) of op(A) from a, or with a2
// two, [0, kc1) from a and [kc1, kc) from a2 (B's rows continuing).
inline int k_segments(const TileArgs& t) { return t.a2 ? 2 : 1; }
inline const float* segment_a(const TileArgs& t, int s) { return s ? t.a2 : t.a; }
inline int segment_kc(const TileArgs& t, int s) { return t.a2 == nullptr ? t.kc : s ? t.kc - t.kc1 : t.kc1; }

// s's C and epilogue operands set to t's moved j columns right, field by
// field (a sweep reuses one s: a whole copy per tile stalls the tile's loads
// of it). B is the caller's: its offset depends on the layout.
inline void move_columns(TileArgs& s, const TileArgs& t, int j) {
  s.c = t.c + j;
  s.bias = t.bias ? t.bias + j : nullptr;
  s.dact_y = t.dact_y ? t.dact_y + j : nullptr;
  s.colsum = t.colsum ? t.colsum + j : nullptr;
}
// t with C and its epilogue operands moved j columns right.
inline TileArgs columns_from(const TileArgs& t, int j) {
  TileArgs s = t;
  move_columns(s, t, j);
  return s;
}

// Packs rows pc..pc+kc-1, columns jc..jc+nc-1 of op(B) into NR-wide panels.
struct PackArgs {
  int kc = 0, nc = 0;
  const float* b = nullptr;  // already offset to (pc, jc) of op(B)
  std::ptrdiff_t ldb = 0;
  Op op = Op::N;
  float* dst = nullptr;
  // Rows k0..k0+kc-1 of panels laid out for panel_kc rows (0: kc): two
  // sources packed one after the other into the same panels.
  int k0 = 0, panel_kc = 0;
  // Row k0 of the panel of columns j0.., w floats wide.
  float* panel(int j0, int w) const {
    return dst + static_cast<std::ptrdiff_t>(j0) * (panel_kc ? panel_kc : kc) + static_cast<std::ptrdiff_t>(k0) * w;
  }
};

// The largest k ger_tn takes (at k = 5 the broadcast tile is faster again).
inline constexpr int kGerMaxK = 4;

struct IsaKernels {
  const char* name;  // "scalar", "avx2", "avx512", "neon", "neon64"
  int simd_width;    // floats per vector
  // Blocking table of this ISA.
  int mr, nr, kc, mc, nc;
  int dot_mr, dot_nr;  // tile of tile_dot
  int tc_rows;         // rows of B per tile_tc call (0 without tile_tc)
  void (*tile)(const TileArgs&);
  // B in place. With direct_bce, also the sigmoid + BCE store step (t.bce_t,
  // act sigmoid, C written, not accumulated, no dact_y or colsum).
  void (*tile_direct)(const TileArgs&);
  bool direct_bce;
  void (*tile_dot)(const TileArgs&);
  // Batch 1 (m == 1), the whole row of C per call: t.nr = n, t.kc = k, A's
  // elements t.cs_a apart (gemv_nt: op(A) N, contiguous), B in place as for
  // tile_direct (gemv_nn) and tile_dot (gemv_nt). generic/gemv_xsimd.h.
  void (*gemv_nn)(const TileArgs&);
  void (*gemv_nt)(const TileArgs&);
  // op(A) = A^T, the last nr <= 4 columns of a packed panel, rows along the
  // vector, no epilogue (weight gradients with n = 100); nullptr where the
  // broadcast tile is as good (every set but AVX2 and AVX-512).
  void (*tile_tn_tail)(const TileArgs&);
  // op(A) = A and op(B) = B in place, the last nr <= 4 columns (t.b, C and
  // the epilogue offset to them), all t.mr rows and the whole K in one call,
  // any epilogue: dot products along k on a transposed copy of the columns
  // (x W with n = 100). nullptr except on AVX2 and AVX-512.
  void (*tile_nn_tail)(const TileArgs&);
  // C = A * B^T for 17..32 rows of A, computed as C^T = B * A^T and stored
  // transposed: t.mr <= tc_rows rows of B read in place (the output columns),
  // t.nr rows of A packed by pack_b (kc rows of each NR-column panel);
  // epilogue bias + act only, or bias + sigmoid + BCE (t.bce_t); C written
  // (not accumulated). nullptr except on AVX2 and AVX-512.
  void (*tile_tc)(const TileArgs&);
  // C (+)= A^T B with k in [1, kGerMaxK] and no epilogue, the whole product in one
  // call (t.mr = m, t.nr = n, t.kc = k, A^T's element (i, k) at a[i + k *
  // cs_a], B rows ldb apart): a rank-k update streaming C's rows once (weight
  // gradients at batch 1..4, generic/gemv_xsimd.h). nullptr in the scalar set.
  void (*ger_tn)(const TileArgs&);
  void (*pack_b)(const PackArgs&);
  // Element-wise kernels of a training step.
  // BCE on a sigmoid output, one row: returns sum of -(t log pc + (1-t) log(1-pc)),
  // pc = clip(y, 1e-7, 1-1e-7), and writes dz = (y - t) * scale where the clip is
  // inactive, 0 where it is (Keras' clip has zero gradient). dz may alias y.
  float (*bce_sigmoid_row)(const float* y, const float* t, float* dz, int n, float scale);
  // The same from the logits z (bias added, no activation): dz as
  // bce_sigmoid_row's on the sigmoid store step's p, the loss in softplus
  // form (vmath::vsigmoid_bce). dz may alias z. nullptr in the scalar set.
  float (*bce_logits_row)(const float* z, const float* t, float* dz, int n, float scale);
  // w -= lr * g; returns whether every updated w is finite (checked in the same pass).
  bool (*sgd)(float* w, const float* g, float lr, std::size_t n);
  // The same update, bit for bit, keeping the undo record: w[i] -= lr * g[i]
  // and g[i] = w[i]'s old value; returns kUpdateGradNonFinite if a g was
  // NaN/inf, | kUpdateWeightNonFinite if an updated w is (gemm_problem.h).
  unsigned (*sgd_swap)(float* w, float* g, float lr, std::size_t n);
  bool (*all_finite)(const float* x, std::size_t n);
  // Activations over arrays (tests and benchmarks).
  void (*act_forward)(Activation act, const float* x, float* y, std::size_t n);
  void (*exp)(const float* x, float* y, std::size_t n);
  void (*expm1)(const float* x, float* y, std::size_t n);
  // dst[i] = float(src[i]) / 255, bit for bit the division (training batches
  // gathered from byte pixels).
  void (*u8_to_f32)(const uint8_t* src, float* dst, std::size_t n);
};

// The kernel sets compiled into this binary, best first; `count` gets their
// number. A set may need a CPU feature this CPU lacks: check isa_supported().
const IsaKernels* const* compiled_isas(int* count);
bool isa_supported(const IsaKernels& k);
// The best set this CPU runs (xsimd::dispatch on x86, compile time on ARM).
const IsaKernels& best_isa();
const IsaKernels& scalar_isa();

}  // namespace mote::kernels
