// Generic GEMM microkernels and packing on an xsimd Arch: the body of every
// SIMD kernel set (generic/make_isa.h builds the table from them).
//
// Register tile of f32_gemm_<MR>x<NR>: MR rows x NV vectors of accumulators;
// per k: NV loads of B, MR broadcasts of A, MR*NV FMAs. The K loop has no
// branch; edges are handled by instantiating every mr <= MR and nv <= NV
// (chosen once per tile) and by masked loads/stores of the last vector.
#pragma once
#include "kernels/generic/simd.h"

namespace mote::kernels::MOTE_KERNEL_TU {

#if defined(__AVX__)
// r[q] <- column q of the 8 x 8 block in r (rows r[0..7]): the tied
// decoder's transposed store, its targets, and the transposing pack.
inline void transpose8x8_regs(__m256 (&r)[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}
#endif

// ------------------------------------------------------------ broadcast tiles
enum BMode : int { kPacked = 0, kDirect = 1, kDirectTail = 2 };

// The sigmoid + BCE store step of the broadcast tile (tile_direct with
// t.bce_t: a Dense output layer, x W, gemm::run_sigmoid_bce): z holds the
// tile's rows x nr products, row r at z + r * ldz. C receives dz and
// *t.bce_sum the tile's loss, as tile_tc's store step computes them
// (vmath::vsigmoid_bce: dz bit for bit the unfused path's, one log per lane
// and tile), in the same two sweeps. The targets need no transpose here: a
// vector of C is a vector of a target row. Lanes past nr are neither read
// from the targets nor stored, and stay out of the loss.
template <class A>
__attribute__((noinline)) void tile_sigmoid_bce(const TileArgs& t, float* z, int ldz, int rows, int nv) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size);
  constexpr int kMaxNV = kGemmLimits.nr / W;
  const int tail = t.nr - (nv - 1) * W;
  alignas(64) float eb[kGemmLimits.mr * kGemmLimits.nr];
  for (int r = 0; r < rows; ++r)
    for (int v = 0; v < nv; ++v) {
      float* zp = z + r * ldz + v * W;
      V x = V::load_aligned(zp);
      if (t.bias) x += load_n<A>(t.bias + v * W, v == nv - 1 ? tail : W);
      x.store_aligned(zp);
      vmath::vexp_neg_abs<A>(x).store_aligned(eb + r * ldz + v * W);
    }
  const vmath::BceClip<A> c = vmath::bce_clip<A>();
  const V scale(t.bce_scale);
  vmath::BceAcc<A> acc[kMaxNV];
  alignas(64) static constexpr float kLane[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const auto in_tail = V::load_aligned(kLane) < V(static_cast<float>(tail));
  for (int r = 0; r < rows; ++r) {
    const float* tr = t.bce_t + r * t.ld_bce_t;
    float* cr = t.c + r * t.ldc;
    for (int v = 0; v < nv; ++v) {
      const int n = v == nv - 1 ? tail : W;
      V d, f, l;
      vmath::vsigmoid_bce<A>(V::load_aligned(z + r * ldz + v * W), V::load_aligned(eb + r * ldz + v * W),
                             load_n<A>(tr + v * W, n), scale, c, d, f, l);
      store_n<A>(cr + v * W, d, n);
      if (n == W)
        acc[v].add(f, l);
      else
        acc[v].add(f, l, in_tail);
    }
  }
  V total = acc[0].total();  // <= kGemmLimits.mr factors per lane
  for (int v = 1; v < nv; ++v) total += acc[v].total();
  *t.bce_sum += static_cast<double>(hsum<A>(total));
}

// ldb: B's row stride (the packed panel's width, or op(B)'s ldb in place).
template <class A, int MR, int NV, int Mode>
__attribute__((noinline)) void f32_gemm_tile(const TileArgs& t, std::ptrdiff_t ldb) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size);
  const int tail = t.nr - (NV - 1) * W;
  const TailLoad<A> load_tail(Mode == kDirectTail ? tail : W);
  // C's lines arrive from L2 while the K loop runs (bwdW at K = 32 on Zen
  // 4: the store step would otherwise wait on them). Only where C is read:
  // for a C only written the hints cost fwd2 at batch 256 (one K block) ~4%.
  // Not on AVX2: on Zen 3 the hints cost bwdW1 at batch 32 2% and bwdW2 3-4%.
  if (t.load_c && W != 8) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const char* cl = reinterpret_cast<const char*>(t.c + r * t.ldc);
      __builtin_prefetch(cl, 1, 3);
      __builtin_prefetch(cl + (t.nr * 4 - 4), 1, 3);
      if constexpr (NV * W * 4 > 128) __builtin_prefetch(cl + 64, 1, 3);
      if constexpr (NV * W * 4 > 192) __builtin_prefetch(cl + 128, 1, 3);
    }
  }
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = V(0.0f);
  // op(A) = A^T (weight gradients: rs_a = 1): the MR broadcasts of one k are
  // adjacent floats, addressed from one pointer; otherwise one pointer per row.
  // With t.a2, K runs in two segments (k_segments; op(A) = A^T only), B's
  // rows continuing in the same panel.
  const float* b = t.b;
  // B in place with a partial last vector (n = 30): a row's full NV * W
  // floats are read without a mask wherever they stay inside B (the extra
  // lanes are the next row's or the padding's, and reach only accumulator
  // lanes that are never stored), so only the last `masked_rows` rows take
  // the masked load. fwd2 at batch 32 (K = 100) ran ~4% slower than the same
  // tile at n = 32 with its 7% more FMAs. With the split, new / old time on
  // Zen 4 (bench/ab-kernels, medians of 1,000 ratios, four runs): avx512
  // fwd2/32 0.972-0.974, fwd2/256 0.975-0.976, bwdW2/32 0.969-0.982,
  // bwdW2/256 0.986-0.989; avx2 0.961-0.983 on the same four; rows without
  // a tail (fwd1/32, bwdW1/32) 0.995-1.011. Rounding the unmasked count down
  // to even (the loop's unroll by 2) cost avx2 bwdW2/32 7%.
  const int ld = static_cast<int>(ldb);
  const int masked_rows = Mode != kDirectTail ? 0 : ld > 0 ? (NV * W - t.nr + ld - 1) / ld : t.kc;
  const auto k_loop = [&](auto& ap, auto at, auto embed, auto masked, int count) __attribute__((always_inline)) {
    // Two k-steps per iteration: fwd2 at batch 32 (K = 100, 16 FMAs per
    // k) -2.4%; four measure the same as two.
#pragma GCC unroll 2
    for (int k = 0; k < count; ++k) {
      V bv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) bv[v] = load_row<A, NV, decltype(masked)::value>(b, v, load_tail);
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        const float* pa = at(ap, r);
        if constexpr (decltype(embed)::value) {
#pragma GCC unroll 8
          for (int v = 0; v < NV; ++v) acc[r][v] = fma_bcast<A>(pa, bv[v], acc[r][v]);
        } else {
          const V av(*pa);
#pragma GCC unroll 8
          for (int v = 0; v < NV; ++v) acc[r][v] = xsimd::fma(av, bv[v], acc[r][v]);
        }
      }
      b += ldb;
      ap.next();
    }
  };
  // The K loop over `count` rows of B, the last masked_rows of the whole K
  // (a tile's last segment) on masked loads.
  int rows_left = t.kc;
  const auto k_loop_split = [&](auto& ap, auto at, auto embed, int count) __attribute__((always_inline)) {
    if constexpr (Mode == kDirectTail) {
      const int plain_rows = rows_left - masked_rows;
      const int first = plain_rows < 0 ? 0 : plain_rows > count ? count : plain_rows;
      rows_left -= count;
      k_loop(ap, at, embed, std::false_type{}, first);
      k_loop(ap, at, embed, std::true_type{}, count - first);
    } else {
      k_loop(ap, at, embed, std::false_type{}, count);
    }
  };
  if constexpr (MR == 1) {
    // One row (batch 1, a GEMV): NV FMA chains are too few to hide the FMA
    // latency, so U k-steps run on U independent accumulator sets.
    constexpr int U = NV == 1 ? 4 : 2;
    V part[U - 1][NV];
#pragma GCC unroll 4
    for (int u = 0; u < U - 1; ++u)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) part[u][v] = V(0.0f);
    const std::ptrdiff_t cs = t.cs_a;
    const auto load_b = [&](const float* row, int v) { return load_row<A, NV, Mode == kDirectTail>(row, v, load_tail); };
    for (int seg = 0; seg < k_segments(t); ++seg) {
      const float* a = segment_a(t, seg);
      const int count = segment_kc(t, seg);
      int k = 0;
      for (; k + U <= count; k += U) {
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[0][v] = xsimd::fma(V(a[0]), load_b(b, v), acc[0][v]);
#pragma GCC unroll 4
        for (int u = 1; u < U; ++u)
#pragma GCC unroll 8
          for (int v = 0; v < NV; ++v) part[u - 1][v] = xsimd::fma(V(a[u * cs]), load_b(b + u * ldb, v), part[u - 1][v]);
        a += U * cs;
        b += U * ldb;
      }
      for (; k < count; ++k) {
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[0][v] = xsimd::fma(V(a[0]), load_b(b, v), acc[0][v]);
        a += cs;
        b += ldb;
      }
    }
#pragma GCC unroll 4
    for (int u = 0; u < U - 1; ++u)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[0][v] += part[u][v];
  } else if (t.rs_a == 1) {
    struct Ptr {
      const float* p;
      std::ptrdiff_t cs;
      void next() { p += cs; }
    };
    // Measured on Zen 4: folding the broadcast into the FMA pays here
    // (bwdW2 at batch 32: -4%), not with one pointer per row (fwd2: +3..15%).
    const auto at = [](const Ptr& q, int r) { return q.p + r; };
    for (int seg = 0; seg < k_segments(t); ++seg) {
      Ptr ap{segment_a(t, seg), t.cs_a};
      k_loop_split(ap, at, std::true_type{}, segment_kc(t, seg));
    }
  } else {
    struct Rows {
      const float* p[MR];
      std::ptrdiff_t cs;
      void next() {
#pragma GCC unroll 16
        for (int r = 0; r < MR; ++r) p[r] += cs;
      }
    };
    Rows rows;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) rows.p[r] = t.a + r * t.rs_a;
    rows.cs = t.cs_a;
    k_loop_split(rows, [](const Rows& q, int r) { return q.p[r]; }, std::false_type{}, t.kc);  // no a2 (op(A) = A)
  }
  // Store step. Without an epilogue (every K block but the last, and plain
  // products such as the weight gradients) it is one load-add-store per
  // vector with the flags read once: at K = 32 the general path's per-vector
  // tests cost ~15% of a bwdW tile.
  //
  // With a partial last vector, C is loaded for every row before any row is
  // stored: row r+1's first load then shares a vector's span with row r's
  // masked tail store (ldc = 30), and the core holds the load until that
  // store retires (bwdW2 at batch 32 spent ~35% of its time there).
  float* const c0 = t.c;
  const std::ptrdiff_t ldc = t.ldc;
  if (t.load_c && tail < W) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const float* c = c0 + r * ldc;
#pragma GCC unroll 8
      for (int v = 0; v < NV - 1; ++v) acc[r][v] += V::load_unaligned(c + v * W);
      acc[r][NV - 1] += load_n<A>(c + (NV - 1) * W, tail);
    }
  }
  const bool add_c = t.load_c && tail == W;  // not added above
  if (!t.last || (t.bias == nullptr && t.act == Activation::linear && t.dact_y == nullptr && t.colsum == nullptr)) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      float* c = c0 + r * ldc;
      if (add_c) {
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) (acc[r][v] + V::load_unaligned(c + v * W)).store_unaligned(c + v * W);
        continue;
      }
#pragma GCC unroll 8
      for (int v = 0; v < NV - 1; ++v) acc[r][v].store_unaligned(c + v * W);
      store_n<A>(c + (NV - 1) * W, acc[r][NV - 1], tail);
    }
    return;
  }
  if (t.bce_t != nullptr) {  // sigmoid + BCE (C written, not accumulated: run_direct_bce)
    alignas(64) float z[MR * NV * W];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v].store_aligned(z + (r * NV + v) * W);
    tile_sigmoid_bce<A>(t, z, NV * W, MR, NV);
    return;
  }
  V colsum[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) colsum[v] = V(0.0f);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) store_vector<A>(t, acc[r][v], r, v * W, v == NV - 1 ? tail : W, colsum[v], add_c);
  flush_colsum<A, NV>(t, colsum);
}

// t.panels full panels of B in one call, C and the epilogue operands moving
// NR columns right per panel (run_packed's sweep blocks). Each tile is the
// one-tile kernel on a copy of t moved field by field (move_columns), so the
// nest's per-tile set-up and dispatch is paid once per sweep: on Zen 3 ~0.5%
// faster on bwdW1 at 32 and 256, fwd4 at 256 and fwd3 at 256 (the same
// library with and without sweeps, alternated in one process: median ratios
// 0.981-1.006 over five runs). The loop inside the tile's own body instead
// quadrupled its code and measured 2-4% slower than calling it per tile.
template <class A, int MR, int NV>
__attribute__((noinline)) void f32_gemm_sweep(const TileArgs& t, std::ptrdiff_t ldb) {
  constexpr int W = static_cast<int>(vf<A>::size);
  TileArgs u = t;
  for (int s = 0; s < t.panels; ++s) {
    const int j0 = s * NV * W;
    u.b = t.b + static_cast<std::ptrdiff_t>(j0) * t.kc;
    move_columns(u, t, j0);
    f32_gemm_tile<A, MR, NV, kPacked>(u, ldb);
  }
}

// Half-width vectors for a narrow last panel: on AVX-512 a panel of at most
// 8 columns (n = 100 = 2 x 48 + 4 in the model) runs on ymm FMAs, which cost
// half a zmm FMA (Zen 4 splits zmm FMAs; Intel issues two ymm per cycle).
template <class A>
struct HalfArch {
  using type = void;
};
#if XSIMD_WITH_AVX512F && XSIMD_WITH_FMA3_AVX2
template <>
struct HalfArch<xsimd::avx512f> {
  using type = xsimd::fma3<xsimd::avx2>;
};
#endif

// Picks the instantiation for (t.mr, nv): mr in [1, M], nv in [1, NV].
template <class A, int Mode, int M, int NV>
inline void tile_pick_nv(const TileArgs& t, int nv, std::ptrdiff_t ldb) {
  if constexpr (NV > 1) {
    if (nv < NV) return tile_pick_nv<A, Mode, M, NV - 1>(t, nv, ldb);
  }
  using H = typename HalfArch<A>::type;
  if constexpr (NV == 1 && !std::is_void_v<H>) {
    constexpr int W = static_cast<int>(vf<A>::size);
    if (t.nr <= W / 2) return f32_gemm_tile<H, M, 1, Mode>(t, ldb);
  }
  f32_gemm_tile<A, M, NV, Mode>(t, ldb);
}
template <class A, int Mode, int M, int NV>
inline void tile_pick(const TileArgs& t, int nv, std::ptrdiff_t ldb) {
  if constexpr (M > 1) {
    if (t.mr < M) return tile_pick<A, Mode, M - 1, NV>(t, nv, ldb);
  }
  tile_pick_nv<A, Mode, M, NV>(t, nv, ldb);
}

template <class A, int M, int NV>
inline void sweep_pick(const TileArgs& t) {  // full panels: mr in [1, M], nv = NV
  if constexpr (M > 1) {
    if (t.mr < M) return sweep_pick<A, M - 1, NV>(t);
  }
  f32_gemm_sweep<A, M, NV>(t, NV * static_cast<std::ptrdiff_t>(vf<A>::size));
}
template <class A, int MR, int NV>
void tile_packed(const TileArgs& t) {
  if (t.panels > 1) return sweep_pick<A, MR, NV>(t);
  constexpr int W = static_cast<int>(vf<A>::size);
  const int nv = (t.nr + W - 1) / W;
  tile_pick<A, kPacked, MR, NV>(t, nv, static_cast<std::ptrdiff_t>(nv) * W);  // pack_b's panel width
}
template <class A, int MR, int NV>
void tile_direct(const TileArgs& t) {
  constexpr int W = static_cast<int>(vf<A>::size);
  const int nv = (t.nr + W - 1) / W;
  if (t.nr % W == 0)
    tile_pick<A, kDirect, MR, NV>(t, nv, t.ldb);
  else
    tile_pick<A, kDirectTail, MR, NV>(t, nv, t.ldb);
}

// ------------------------------------------------------------ dot tiles (NT, unpacked)
#if defined(__AVX512F__)
// Lane j of the result = sum of the lanes of a[j]: a transposing tree of
// 30 shuffles and 15 adds instead of 16 separate horizontal sums (~128 uops).
template <class V>
inline __m512 reduce16(const V (&a)[16]) {
  __m512 b[8], c[4];
  for (int j = 0; j < 8; ++j)  // 256-bit halves: [a2j: 8 partials | a2j+1: 8 partials]
    b[j] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * j], a[2 * j + 1], 0x44),
                         _mm512_shuffle_f32x4(a[2 * j], a[2 * j + 1], 0xEE));
  for (int j = 0; j < 4; ++j)  // 128-bit lanes: [a4j | a4j+1 | a4j+2 | a4j+3], 4 partials each
    c[j] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * j], b[2 * j + 1], 0x88),
                         _mm512_shuffle_f32x4(b[2 * j], b[2 * j + 1], 0xDD));
  const __m512 t0 = _mm512_add_ps(_mm512_unpacklo_ps(c[0], c[1]), _mm512_unpackhi_ps(c[0], c[1]));
  const __m512 t1 = _mm512_add_ps(_mm512_unpacklo_ps(c[2], c[3]), _mm512_unpackhi_ps(c[2], c[3]));
  // lane 4q + i now holds the sum of a[4i + q]
  const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(t0, t1, 0x44), _mm512_shuffle_ps(t0, t1, 0xEE));
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), r);
}

// Lanes 0..3 of the result = the sums of the lanes of a[0..3] (the rest is
// not meaningful): 4 shuffles and 6 adds instead of 4 horizontal sums.
template <class V>
inline __m512 reduce4(const V (&a)[4]) {
  // [a0 | a1] and [a2 | a3], 8 partials each
  const __m512 s01 = _mm512_add_ps(_mm512_shuffle_f32x4(a[0], a[1], 0x44), _mm512_shuffle_f32x4(a[0], a[1], 0xEE));
  const __m512 s23 = _mm512_add_ps(_mm512_shuffle_f32x4(a[2], a[3], 0x44), _mm512_shuffle_f32x4(a[2], a[3], 0xEE));
  // 128-bit lane q: 4 partials of a[q]
  __m512 c = _mm512_add_ps(_mm512_shuffle_f32x4(s01, s23, 0x88), _mm512_shuffle_f32x4(s01, s23, 0xDD));
  c = _mm512_add_ps(c, _mm512_shuffle_ps(c, c, 0x4E));
  c = _mm512_add_ps(c, _mm512_shuffle_ps(c, c, 0xB1));  // every lane of 128-bit lane q: the sum of a[q]
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), c);
}
#endif

// C[mr x nr] = A[mr x kc] * B^T, A rows at a + r*rs_a, B rows at b + j*ldb,
// both contiguous along k. Rows j >= nr of B re-read row nr-1 (never stored).
template <class A, int MR, int NJ>
__attribute__((noinline)) void f32_gemm_dot_tile(const TileArgs& t) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size);
  const float* ap[MR];
  const float* bp[NJ];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) ap[r] = t.a + r * t.rs_a;
#pragma GCC unroll 16
  for (int j = 0; j < NJ; ++j) bp[j] = t.b + imin(j, t.nr - 1) * t.ldb;
  V acc[MR][NJ];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int j = 0; j < NJ; ++j) acc[r][j] = V(0.0f);
  int k = 0;
  for (; k + W <= t.kc; k += W) {
    V bv[NJ];
#pragma GCC unroll 16
    for (int j = 0; j < NJ; ++j) bv[j] = V::load_unaligned(bp[j] + k);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const V av = V::load_unaligned(ap[r] + k);
#pragma GCC unroll 16
      for (int j = 0; j < NJ; ++j) acc[r][j] = xsimd::fma(av, bv[j], acc[r][j]);
    }
  }
  if (k < t.kc) {
    const int n = t.kc - k;
    V bv[NJ];
#pragma GCC unroll 16
    for (int j = 0; j < NJ; ++j) bv[j] = load_n<A>(bp[j] + k, n);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const V av = load_n<A>(ap[r] + k, n);
#pragma GCC unroll 16
      for (int j = 0; j < NJ; ++j) acc[r][j] = xsimd::fma(av, bv[j], acc[r][j]);
    }
  }
  V colsum[1] = {V(0.0f)};
  for (int r = 0; r < MR; ++r) {
#if defined(__AVX512F__)
    if constexpr (W == 16 && NJ == 16) {
      store_vector<A>(t, V(reduce16(acc[r])), r, 0, t.nr, colsum[0], t.load_c);
      continue;
    }
    if constexpr (W == 16 && NJ == 4) {
      store_vector<A>(t, V(reduce4(acc[r])), r, 0, t.nr, colsum[0], t.load_c);
      continue;
    }
#endif
    alignas(64) float sums[W] = {};
#pragma GCC unroll 16
    for (int j = 0; j < NJ; ++j) sums[j] = hsum<A>(acc[r][j]);
    store_vector<A>(t, V::load_aligned(sums), r, 0, t.nr, colsum[0], t.load_c);
  }
  flush_colsum<A, 1>(t, colsum);
}

template <class A, int M, int NJ>
void tile_dot(const TileArgs& t) {
  if constexpr (M > 1) {
    if (t.mr < M) return tile_dot<A, M - 1, NJ>(t);
  }
  f32_gemm_dot_tile<A, M, NJ>(t);
}

// ------------------------------------------------------------ TN narrow tail (AVX2, AVX-512)
#if defined(__AVX2__)
// C[mr x nr] (+)= op(A) * B for the last nr <= 4 columns of a weight
// gradient (n = 100 = 6 x 16 + 4 on AVX2, 2 x 48 + 4 on AVX-512), no
// epilogue. With op(A) = A^T the mr rows of one k are contiguous (rs_a = 1),
// so the rows go along the vector and the nr columns are broadcasts: a
// vector FMA does W rows x 1 column, where the broadcast tile spent a
// half-empty vector (4 of W lanes) and a broadcast load per row and k.
// B: kc rows t.ldb apart (the packed panel). The 4 x W block of each row
// vector is transposed in registers and stored 4 floats per row.
inline void tn_tail_row4(const TileArgs& t, __m128 v, int row, __m128i cmask) {
  float* c = t.c + static_cast<std::ptrdiff_t>(row) * t.ldc;
  if (t.load_c) v = _mm_add_ps(v, _mm_maskload_ps(c, cmask));
  store_first4(c, v, t.nr);
}
#if defined(__AVX512F__)
inline void tn_tail_store(const TileArgs& t, const __m512 (&acc)[4], int row0, int rows, __m128i cmask) {
  const __m512 t0 = _mm512_unpacklo_ps(acc[0], acc[1]), t1 = _mm512_unpackhi_ps(acc[0], acc[1]);
  const __m512 t2 = _mm512_unpacklo_ps(acc[2], acc[3]), t3 = _mm512_unpackhi_ps(acc[2], acc[3]);
  // r[q], 128-bit lane L: the 4 columns of row 4L + q.
  const __m512 r[4] = {_mm512_shuffle_ps(t0, t2, 0x44), _mm512_shuffle_ps(t0, t2, 0xEE),
                       _mm512_shuffle_ps(t1, t3, 0x44), _mm512_shuffle_ps(t1, t3, 0xEE)};
  for (int i = 0; i < rows; ++i) {
    const int lane = i >> 2, q = i & 3;
    __m128 v;
    switch (lane) {
      case 0: v = _mm512_castps512_ps128(r[q]); break;
      case 1: v = _mm512_extractf32x4_ps(r[q], 1); break;
      case 2: v = _mm512_extractf32x4_ps(r[q], 2); break;
      default: v = _mm512_extractf32x4_ps(r[q], 3); break;
    }
    tn_tail_row4(t, v, row0 + i, cmask);
  }
}
#endif
inline void tn_tail_store(const TileArgs& t, const __m256 (&acc)[4], int row0, int rows, __m128i cmask) {
  __m128 lo[4], hi[4];  // rows 0..3 and 4..7 of the 8 x 4 block
  for (int c = 0; c < 4; ++c) {
    lo[c] = _mm256_castps256_ps128(acc[c]);
    hi[c] = _mm256_extractf128_ps(acc[c], 1);
  }
  _MM_TRANSPOSE4_PS(lo[0], lo[1], lo[2], lo[3]);
  _MM_TRANSPOSE4_PS(hi[0], hi[1], hi[2], hi[3]);
  for (int i = 0; i < rows; ++i) tn_tail_row4(t, i < 4 ? lo[i] : hi[i - 4], row0 + i, cmask);
}

template <class A>
__attribute__((noinline)) void f32_gemm_tn_tail(const TileArgs& t) {
  using V = vf<A>;
  using R = typename V::register_type;  // __m256 or __m512
  constexpr int W = static_cast<int>(V::size);
  const __m128i cmask = _mm_cmpgt_epi32(_mm_set1_epi32(t.nr), _mm_setr_epi32(0, 1, 2, 3));
  const std::ptrdiff_t cs = t.cs_a, ldb = t.ldb;
  // Columns nr..3 read the panel's zero padding (w = W) and are never stored.
  // The two loops below stay written out: one template over the number of
  // row vectors (1 or 2, masked or not) measured 6% slower on bwdW1/32 (Zen 4).
  int i0 = 0;
  for (; i0 + 2 * W <= t.mr; i0 += 2 * W) {  // two row vectors: 8 independent FMA chains
    V acc0[4], acc1[4];
    for (int c = 0; c < 4; ++c) acc0[c] = acc1[c] = V(0.0f);
    const float* b = t.b;
    for (int seg = 0; seg < k_segments(t); ++seg) {
      const float* a = segment_a(t, seg) + i0;
      for (int k = 0, count = segment_kc(t, seg); k < count; ++k) {
        const V a0 = V::load_unaligned(a), a1 = V::load_unaligned(a + W);
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) {
          acc0[c] = fma_bcast<A>(b + c, a0, acc0[c]);
          acc1[c] = fma_bcast<A>(b + c, a1, acc1[c]);
        }
        a += cs;
        b += ldb;
      }
    }
    const R s0[4] = {acc0[0], acc0[1], acc0[2], acc0[3]};
    const R s1[4] = {acc1[0], acc1[1], acc1[2], acc1[3]};
    tn_tail_store(t, s0, i0, W, cmask);
    tn_tail_store(t, s1, i0 + W, W, cmask);
  }
  for (; i0 < t.mr; i0 += W) {  // the last rows, one (masked) row vector
    const int rows = imin(W, t.mr - i0);
    V acc[4];
    for (int c = 0; c < 4; ++c) acc[c] = V(0.0f);
    const float* b = t.b;
    for (int seg = 0; seg < k_segments(t); ++seg) {
      const float* a = segment_a(t, seg) + i0;
      for (int k = 0, count = segment_kc(t, seg); k < count; ++k) {
        const V a0 = load_n<A>(a, rows);
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) acc[c] = fma_bcast<A>(b + c, a0, acc[c]);
        a += cs;
        b += ldb;
      }
    }
    const R s[4] = {acc[0], acc[1], acc[2], acc[3]};
    tn_tail_store(t, s, i0, rows, cmask);
  }
}
#endif

// ------------------------------------------------------------ NN narrow tail (AVX2, AVX-512)
#if defined(__AVX2__)
// C[mr x nr] (+)= A * B for the last nr <= 4 columns of an NN product (x W
// with n = 100 = 6 x 16 + 4 on AVX2, 2 x 48 + 4 on AVX-512), any epilogue.
// A (op N) rows contiguous along k; B read in place, row k at b + k * ldb.
// The broadcast tile spends a vector FMA with 4 of its W lanes used and a
// broadcast load per row and k here; instead the nr columns are copied
// transposed to the stack, KB values of k at a time, and each element of C
// is a dot product along k on full vectors (f32_gemm_dot_tile with DM x 4
// accumulators: 4 x 4 of 32 zmm, 2 x 4 of 16 ymm).
template <class A>
__attribute__((noinline)) void f32_gemm_nn_tail(const TileArgs& t) {
  constexpr int W = static_cast<int>(vf<A>::size);
  constexpr int DM = W == 16 ? 4 : 2;
  constexpr int KB = 1024;
  alignas(64) float bt[4][KB];
  const __m128i cols = _mm_cmpgt_epi32(_mm_set1_epi32(t.nr), _mm_setr_epi32(0, 1, 2, 3));
  for (int k0 = 0; k0 < t.kc; k0 += KB) {
    const int kb = imin(KB, t.kc - k0);
    const float* b = t.b + static_cast<std::ptrdiff_t>(k0) * t.ldb;
    int k = 0;
    for (; k + 4 <= kb; k += 4) {  // 4 rows of B -> 4 columns of bt; columns >= nr are zeros
      __m128 r0 = _mm_maskload_ps(b + (k + 0) * t.ldb, cols);
      __m128 r1 = _mm_maskload_ps(b + (k + 1) * t.ldb, cols);
      __m128 r2 = _mm_maskload_ps(b + (k + 2) * t.ldb, cols);
      __m128 r3 = _mm_maskload_ps(b + (k + 3) * t.ldb, cols);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_store_ps(&bt[0][k], r0);
      _mm_store_ps(&bt[1][k], r1);
      _mm_store_ps(&bt[2][k], r2);
      _mm_store_ps(&bt[3][k], r3);
    }
    for (; k < kb; ++k)
      for (int j = 0; j < 4; ++j) bt[j][k] = j < t.nr ? b[k * t.ldb + j] : 0.0f;
    TileArgs u = t;
    u.b = &bt[0][0];
    u.ldb = KB;
    u.kc = kb;
    u.load_c = t.load_c || k0 > 0;
    u.last = t.last && k0 + kb == t.kc;
    for (int i = 0; i < t.mr; i += DM) {  // 6 rows measured the same as 4 (Zen 4)
      u.mr = imin(DM, t.mr - i);
      u.a = t.a + i * t.rs_a + k0;
      u.c = t.c + i * t.ldc;
      u.dact_y = t.dact_y ? t.dact_y + i * t.ld_dact : nullptr;
      tile_dot<A, DM, 4>(u);
    }
  }
}
#endif

// ------------------------------------------------------------ NT with C transposed (AVX2, AVX-512)
#if defined(__AVX2__)
// C = A * B^T for a few rows of A (the tied decoder at batch 32: 32 x 100 .
// (784 x 100)^T) computed as C^T = B * A^T, so that the big B is read where
// it lies (rows contiguous along k, one broadcast per row and k) and only the
// small A^T is packed: no transposing pack of B (15% of that GEMM). One tile:
// t.mr <= tc_rows rows of B (= columns j of C) at t.a + r * t.rs_a, t.nr in
// (16, 32] rows of A (= rows of C), B' = A^T as pack_b lays it out: on
// AVX-512 one panel (kc rows of 32 floats), on AVX2 two panels of 16 columns
// (kc rows of 16 floats, then kc rows of round_up(nr - 16, 8)).
// tc_rows: 8 on AVX-512 (8 x 2 zmm accumulators), 6 on AVX2 (6 x 2 ymm per
// panel; 8 x 2 would not fit 16 registers, and 8 rows as 6 x 2 per panel plus
// 2 x 4 measured slower on Zen 3: fwd4/32 61.5 -> 67.5 us).
// The epilogue (bias[j], activation, or sigmoid + BCE) runs on C^T (a stack
// copy of the accumulators), then each 8 x 8 block is transposed in
// registers and stored 8 floats per row of C.
template <class A>
inline constexpr int kTcRows = vf<A>::size == 16 ? 8 : 6;

// The first of the two sweeps of a sigmoid store step: buf[r] += bias[r]
// (the logits z) and eb = exp(-|z|), for rows < rows. The second sweep (the
// division, and the loss) runs as its own loop: one sweep doing both, a ~90
// cycle chain per vector, ran at ~49 cycles per vector on Zen 4, the
// out-of-order window full of operations waiting on their inputs.
template <class A>
inline void tc_logits_exp(const TileArgs& t, int rows, float (&buf)[8][32], float (&eb)[8][32]) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size), NVB = 32 / W;
  for (int r = 0; r < rows; ++r) {
    const V b0 = t.bias ? V(t.bias[r]) : V(0.0f);
#pragma GCC unroll 4
    for (int v = 0; v < NVB; ++v) {
      const V z = V::load_aligned(buf[r] + v * W) + b0;
      z.store_aligned(buf[r] + v * W);
      vmath::vexp_neg_abs<A>(z).store_aligned(eb[r] + v * W);
    }
  }
}

// The fused loss of tile_tc: buf holds C^T (buf[r][i] = C[i][r] before bias)
// and receives dz; the tile's BCE sum goes to *t.bce_sum.
template <class A>
inline void tc_sigmoid_bce(const TileArgs& t, float (&buf)[8][32], __m256i cmask) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size), NVB = 32 / W;
  constexpr int MR = 8;
  // The targets in buf's layout, tb[r][i] = target[i][r], transposed 8 x 8
  // in registers as C is on the way out (rows >= nr repeat row nr - 1 and
  // are masked out of the sum).
  alignas(64) float tb[MR][32];
  for (int row0 = 0; row0 < 32; row0 += 8) {
    __m256 q[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      const float* src = t.bce_t + static_cast<std::ptrdiff_t>(imin(row0 + i, t.nr - 1)) * t.ld_bce_t;
      q[i] = t.mr == MR ? _mm256_loadu_ps(src) : _mm256_maskload_ps(src, cmask);
    }
    transpose8x8_regs(q);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) _mm256_store_ps(tb[r] + row0, q[r]);
  }
  const vmath::BceClip<A> c = vmath::bce_clip<A>();
  const V scale(t.bce_scale);
  alignas(64) static constexpr float kLane[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                                  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
  xsimd::batch_bool<float, A> in[NVB];  // lanes i < nr; the others: factor 1, lin 0
  vmath::BceAcc<A> acc[NVB];
#pragma GCC unroll 4
  for (int v = 0; v < NVB; ++v) in[v] = V::load_aligned(kLane + v * W) < V(static_cast<float>(t.nr));
  const int rows = imin(MR, t.mr);
  // Two sweeps: the logits and exp(-|z|) (tc_logits_exp), then the rest.
  alignas(64) float eb[MR][32];
  tc_logits_exp<A>(t, rows, buf, eb);
  // With all 32 columns of buf in use (every full tile) the lane masks are
  // all true: that loop leaves out the two selects per vector.
  const auto sweep = [&](auto full) {
    for (int r = 0; r < rows; ++r) {
#pragma GCC unroll 4
      for (int v = 0; v < NVB; ++v) {
        V d, f, l;
        vmath::vsigmoid_bce<A>(V::load_aligned(buf[r] + v * W), V::load_aligned(eb[r] + v * W),
                               V::load_aligned(tb[r] + v * W), scale, c, d, f, l);
        d.store_aligned(buf[r] + v * W);
        if constexpr (decltype(full)::value)
          acc[v].add(f, l);
        else
          acc[v].add(f, l, in[v]);
      }
    }
  };
  if (t.nr == 32)
    sweep(std::true_type{});
  else
    sweep(std::false_type{});
  V total = acc[0].total();  // <= 8 factors per lane
#pragma GCC unroll 4
  for (int v = 1; v < NVB; ++v) total += acc[v].total();
  *t.bce_sum += static_cast<double>(hsum<A>(total));
}

// buf[r][col0 + i] = sum over k of ap[r][k] * panel[k][i], i < NV * W: R
// rows of B against one packed panel of A^T (w floats per row), one FMA
// chain per element from k = 0 (as the broadcast tile's: the same bits).
template <class A, int R, int NV>
inline void tc_block(const float* const (&ap)[8], const float* panel, int w, int kc, float (&buf)[8][32], int col0) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size);
  V acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = V(0.0f);
  const float* b = panel;
  for (int k = 0; k < kc; ++k) {
    V bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bv[v] = V::load_unaligned(b + v * W);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = fma_bcast<A>(ap[r] + k, bv[v], acc[r][v]);
    }
    b += w;
  }
  // Through a stack buffer: the activation then runs as a loop over it with
  // its constants in registers (applied to the registers directly, GCC
  // spilled ~16 vectors around every sigmoid).
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v].store_aligned(buf[r] + col0 + v * W);
}

template <class A>
__attribute__((noinline)) void f32_gemm_tile_tc(const TileArgs& t) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size), NVB = 32 / W;
  constexpr int MR = 8, R = kTcRows<A>;
  const float* ap[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) ap[r] = t.a + imin(r, t.mr - 1) * t.rs_a;  // rows >= mr: never stored
  alignas(64) float buf[MR][32];
  if constexpr (W == 16) {
    tc_block<A, R, 2>(ap, t.b, 32, t.kc, buf, 0);
  } else {
    // Rows R..7 and the columns a narrow second panel leaves are never
    // stored (or rewritten by the next call), but pass through the epilogue
    // and the transposes.
    for (int r = R; r < MR; ++r)
      for (int i = 0; i < 32; i += W) V(0.0f).store_aligned(buf[r] + i);
    tc_block<A, R, 2>(ap, t.b, 16, t.kc, buf, 0);
    const float* second = t.b + static_cast<std::ptrdiff_t>(16) * t.kc;
    if (t.nr > 24) {
      tc_block<A, R, 2>(ap, second, 16, t.kc, buf, 16);
    } else {
      for (int r = 0; r < R; ++r) V(0.0f).store_aligned(buf[r] + 24);
      tc_block<A, R, 1>(ap, second, 8, t.kc, buf, 16);
    }
  }
  const __m256i cmask = _mm256_cmpgt_epi32(_mm256_set1_epi32(t.mr), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  if (t.last && t.bce_t) {
    tc_sigmoid_bce<A>(t, buf, cmask);
  } else if (t.last && t.act == Activation::sigmoid) {
    // Two sweeps, as the BCE's: tc_logits_exp, then the division.
    const int rows = imin(MR, t.mr);
    alignas(64) float eb[MR][32];
    tc_logits_exp<A>(t, rows, buf, eb);
    for (int r = 0; r < rows; ++r) {
#pragma GCC unroll 4
      for (int v = 0; v < NVB; ++v) {
        const V z = V::load_aligned(buf[r] + v * W);
        vmath::vsigmoid_from_exp<A>(z, V::load_aligned(eb[r] + v * W)).store_aligned(buf[r] + v * W);
      }
    }
  } else if (t.last && (t.bias || t.act != Activation::linear)) {
    // SELU or bias only. Two rows (2 x 32 floats in independent vectors) per
    // step: one activation is a long dependency chain, and fewer chains in
    // flight left the FP pipes idle (Zen 4, sigmoid: 27 cycles per vector
    // with one row per step).
    const int rows = imin(MR, t.mr);
    for (int r = 0; r < rows; r += 2) {
      const int r1 = imin(r + 1, rows - 1);  // an odd last row is done twice
      const V b0 = t.bias ? V(t.bias[r]) : V(0.0f);
      const V b1 = t.bias ? V(t.bias[r1]) : V(0.0f);
      V x[2 * NVB];
#pragma GCC unroll 4
      for (int v = 0; v < NVB; ++v) {
        x[v] = activate<A>(t.act, V::load_aligned(buf[r] + v * W) + b0);
        x[NVB + v] = activate<A>(t.act, V::load_aligned(buf[r1] + v * W) + b1);
      }
#pragma GCC unroll 4
      for (int v = 0; v < NVB; ++v) {
        x[v].store_aligned(buf[r] + v * W);
        x[NVB + v].store_aligned(buf[r1] + v * W);
      }
    }
  }
  for (int row0 = 0; row0 < 32; row0 += 8) {
    if (row0 >= t.nr) return;
    __m256 q[8];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) q[r] = _mm256_load_ps(buf[r] + row0);
    transpose8x8_regs(q);
    const int rows = imin(8, t.nr - row0);
    for (int i = 0; i < rows; ++i) {
      store_first8(t.c + static_cast<std::ptrdiff_t>(row0 + i) * t.ldc, q[i], t.wide_store ? 8 : t.mr);
    }
  }
}
#endif

// ------------------------------------------------------------ packing
#if defined(__AVX__)
// dst rows q = 0..7 (stride ld_dst) <- column q of the 8x8 block at src (stride ld_src).
inline void transpose8x8(const float* src, std::ptrdiff_t ld_src, float* dst, std::ptrdiff_t ld_dst) {
  __m256 r[8];
  for (int q = 0; q < 8; ++q) r[q] = _mm256_loadu_ps(src + q * ld_src);
  transpose8x8_regs(r);
  for (int q = 0; q < 8; ++q) _mm256_storeu_ps(dst + q * ld_dst, r[q]);
}
#endif

// Panels of NR columns; a panel of nrp columns holds kc rows of
// round_up(nrp, W) floats, zero padded.
template <class A, int NR>
void pack_b(const PackArgs& p) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size);
  for (int j0 = 0; j0 < p.nc; j0 += NR) {
    const int nrp = imin(NR, p.nc - j0);
    const int w = (nrp + W - 1) / W * W;
    float* dst = p.panel(j0, w);
    if (p.op == Op::N) {
      const float* src = p.b + j0;
      for (int k = 0; k < p.kc; ++k) {
        const float* s = src + k * p.ldb;
        float* d = dst + k * w;
        int j = 0;
        for (; j + W <= nrp; j += W) V::load_unaligned(s + j).store_unaligned(d + j);
        if (j < nrp) load_n<A>(s + j, nrp - j).store_unaligned(d + j);
      }
    } else {
      // op(B)(k, j) = b[j * ldb + k]: rows of b become columns of the panel.
      const float* src = p.b + static_cast<std::ptrdiff_t>(j0) * p.ldb;
      int k0 = 0;
#if defined(__AVX__)
      // Eight source rows at a time, each read front to back (eight
      // sequential streams the prefetcher follows).
      const int k8 = p.kc / 8 * 8;
      int jt = 0;
      for (; jt + 8 <= nrp; jt += 8)
        for (int k = 0; k < k8; k += 8) transpose8x8(src + jt * p.ldb + k, p.ldb, dst + k * w + jt, w);
      for (; jt < nrp; ++jt)
        for (int k = 0; k < k8; ++k) dst[k * w + jt] = src[jt * p.ldb + k];
      k0 = k8;
#endif
      for (int j = 0; j < nrp; ++j)
        for (int k = k0; k < p.kc; ++k) dst[k * w + j] = src[j * p.ldb + k];
      if (w > nrp)
        for (int k = 0; k < p.kc; ++k)
          for (int j = nrp; j < w; ++j) dst[k * w + j] = 0.0f;
    }
  }
}

}  // namespace mote::kernels::MOTE_KERNEL_TU
