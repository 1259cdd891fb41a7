// Generic microkernels on an xsimd Arch: the body of every SIMD kernel set.
// One translation unit per ISA includes this with its own compile flags and a
// unique MOTE_KERNEL_TU namespace, then instantiates make_isa_kernels<Arch, ...>
// with that ISA's blocking table (kernels/x86/*.cpp, kernels/arm/*.cpp).
//
// Register tile of f32_gemm_<MR>x<NR>: MR rows x NV vectors of accumulators;
// per k: NV loads of B, MR broadcasts of A, MR*NV FMAs. The K loop has no
// branch; edges are handled by instantiating every mr <= MR and nv <= NV
// (chosen once per tile) and by masked loads/stores of the last vector.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "kernels/gemm_kernels.h"
#include "kernels/generic/vmath.h"

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace mote::kernels::MOTE_KERNEL_TU {

template <class A>
using vf = xsimd::batch<float, A>;

inline int imin(int a, int b) { return a < b ? a : b; }

// ------------------------------------------------------------ partial vectors
// Lanes [0, n) of p, zero elsewhere; n in [1, W]. Nothing past p + n is read.
template <class A>
inline vf<A> load_n(const float* p, int n) {
  constexpr int W = static_cast<int>(vf<A>::size);
  if (n == W) return vf<A>::load_unaligned(p);
#if defined(__AVX512F__)
  if constexpr (W == 16) return vf<A>(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p));
#endif
#if defined(__AVX__)
  if constexpr (W == 8) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return vf<A>(_mm256_maskload_ps(p, mask));
  }
#endif
  alignas(64) float tmp[W] = {};
  for (int i = 0; i < n; ++i) tmp[i] = p[i];
  return vf<A>::load_aligned(tmp);
}

template <class A>
inline void store_n(float* p, vf<A> x, int n) {
  constexpr int W = static_cast<int>(vf<A>::size);
  if (n == W) {
    x.store_unaligned(p);
    return;
  }
#if defined(__AVX512F__)
  if constexpr (W == 16) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), x);
    return;
  }
#endif
#if defined(__AVX__)
  if constexpr (W == 8) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps(p, mask, x);
    return;
  }
#endif
  alignas(64) float tmp[W];
  x.store_aligned(tmp);
  for (int i = 0; i < n; ++i) p[i] = tmp[i];
}

// Sum of the lanes. (xsimd 8.1's hadd for avx512f uses an AVX512DQ intrinsic.)
template <class A>
inline float hsum(vf<A> x) {
#if defined(__AVX512F__)
  if constexpr (vf<A>::size == 16) return _mm512_reduce_add_ps(x);
#endif
  return xsimd::hadd(x);
}

// c + broadcast(*a) * b. On AVX-512 the broadcast is folded into the FMA's
// memory operand ({1to16}): a separate vbroadcastss per row of A costs an FP
// pipe slot on Zen 4, ~15% of the FMA rate of a 2-vector-wide tile.
template <class A>
inline vf<A> fma_bcast(const float* a, vf<A> b, vf<A> c) {
#if defined(__AVX512F__)
  if constexpr (vf<A>::size == 16) {
    __m512 r = c;
    asm("vfmadd231ps %1%{1to16%}, %2, %0" : "+v"(r) : "m"(*a), "v"(static_cast<__m512>(b)));
    return vf<A>(r);
  }
#endif
  return xsimd::fma(vf<A>(*a), b, c);
}

// ------------------------------------------------------------ epilogue
template <class A>
inline vf<A> activate(Activation act, vf<A> x) {
  switch (act) {
    case Activation::selu: return vmath::vselu<A>(x);
    case Activation::sigmoid: return vmath::vsigmoid<A>(x);
    case Activation::linear: break;
  }
  return x;
}

template <class A>
inline vf<A> derivative_from_output(Activation act, vf<A> y) {
  switch (act) {
    case Activation::selu: return vmath::vselu_grad_from_y<A>(y);
    case Activation::sigmoid: return vmath::vsigmoid_grad_from_y<A>(y);
    case Activation::linear: break;
  }
  return vf<A>(1.0f);
}

// Store step of one vector: C = (C +) x, then the epilogue when t.last.
// Lanes >= n are neither read nor written; colsum collects the stored values.
template <class A>
inline void store_vector(const TileArgs& t, vf<A> x, int r, int j, int n, vf<A>& colsum, bool load_c) {
  float* c = t.c + r * t.ldc + j;
  if (load_c) x += load_n<A>(c, n);
  if (t.last) {
    if (t.bias) x += load_n<A>(t.bias + j, n);
    if (t.act != Activation::linear) x = activate<A>(t.act, x);
    if (t.dact_y) x *= derivative_from_output<A>(t.dact, load_n<A>(t.dact_y + r * t.ld_dact + j, n));
    if (t.colsum) colsum += x;
  }
  store_n<A>(c, x, n);
}

template <class A, int NV>
inline void flush_colsum(const TileArgs& t, const vf<A> (&cs)[NV]) {
  if (!t.last || !t.colsum) return;
  constexpr int W = static_cast<int>(vf<A>::size);
  for (int v = 0; v < NV; ++v) {
    const int n = imin(W, t.nr - v * W);
    store_n<A>(t.colsum + v * W, load_n<A>(t.colsum + v * W, n) + cs[v], n);
  }
}

// ------------------------------------------------------------ broadcast tiles
enum BMode : int { kPacked = 0, kDirect = 1, kDirectTail = 2 };

// ldb: B's row stride (the packed panel's width, or op(B)'s ldb in place).
template <class A, int MR, int NV, int Mode>
__attribute__((noinline)) void f32_gemm_tile(const TileArgs& t, std::ptrdiff_t ldb) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size);
  const int tail = t.nr - (NV - 1) * W;
  // C's lines arrive from L2 while the K loop runs (bwdW at K = 32: the
  // store step would otherwise wait on them).
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    const char* cl = reinterpret_cast<const char*>(t.c + r * t.ldc);
    __builtin_prefetch(cl, 1, 3);
    __builtin_prefetch(cl + (t.nr * 4 - 4), 1, 3);
    if constexpr (NV * W * 4 > 128) __builtin_prefetch(cl + 64, 1, 3);
    if constexpr (NV * W * 4 > 192) __builtin_prefetch(cl + 128, 1, 3);
  }
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = V(0.0f);
  // op(A) = A^T (weight gradients: rs_a = 1): the MR broadcasts of one k are
  // adjacent floats, addressed from one pointer; otherwise one pointer per row.
  const auto k_loop = [&](auto ap, auto at, auto embed) {
    const float* b = t.b;
    for (int k = 0; k < t.kc; ++k) {
      V bv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        if constexpr (Mode == kDirectTail)
          bv[v] = v == NV - 1 ? load_n<A>(b + v * W, tail) : V::load_unaligned(b + v * W);
        else
          bv[v] = V::load_unaligned(b + v * W);
      }
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
  if constexpr (MR == 1) {
    // One row (batch 1, a GEMV): NV FMA chains are too few to hide the FMA
    // latency, so U k-steps run on U independent accumulator sets.
    constexpr int U = NV == 1 ? 4 : 2;
    V part[U - 1][NV];
#pragma GCC unroll 4
    for (int u = 0; u < U - 1; ++u)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) part[u][v] = V(0.0f);
    const float* b = t.b;
    const float* a = t.a;
    const std::ptrdiff_t cs = t.cs_a;
    const auto load_b = [&](const float* row, int v) {
      if constexpr (Mode == kDirectTail)
        return v == NV - 1 ? load_n<A>(row + v * W, tail) : V::load_unaligned(row + v * W);
      else
        return V::load_unaligned(row + v * W);
    };
    int k = 0;
    for (; k + U <= t.kc; k += U) {
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[0][v] = xsimd::fma(V(a[0]), load_b(b, v), acc[0][v]);
#pragma GCC unroll 4
      for (int u = 1; u < U; ++u)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) part[u - 1][v] = xsimd::fma(V(a[u * cs]), load_b(b + u * ldb, v), part[u - 1][v]);
      a += U * cs;
      b += U * ldb;
    }
    for (; k < t.kc; ++k) {
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[0][v] = xsimd::fma(V(a[0]), load_b(b, v), acc[0][v]);
      a += cs;
      b += ldb;
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
    k_loop(Ptr{t.a, t.cs_a}, [](const Ptr& q, int r) { return q.p + r; }, std::true_type{});
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
    k_loop(rows, [](const Rows& q, int r) { return q.p[r]; }, std::false_type{});
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
  V colsum[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) colsum[v] = V(0.0f);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) store_vector<A>(t, acc[r][v], r, v * W, v == NV - 1 ? tail : W, colsum[v], add_c);
  flush_colsum<A, NV>(t, colsum);
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

template <class A, int MR, int NV>
void tile_packed(const TileArgs& t) {
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

// ------------------------------------------------------------ packing
#if defined(__AVX__)
// dst rows q = 0..7 (stride ld_dst) <- column q of the 8x8 block at src (stride ld_src).
inline void transpose8x8(const float* src, std::ptrdiff_t ld_src, float* dst, std::ptrdiff_t ld_dst) {
  __m256 r0 = _mm256_loadu_ps(src + 0 * ld_src), r1 = _mm256_loadu_ps(src + 1 * ld_src);
  __m256 r2 = _mm256_loadu_ps(src + 2 * ld_src), r3 = _mm256_loadu_ps(src + 3 * ld_src);
  __m256 r4 = _mm256_loadu_ps(src + 4 * ld_src), r5 = _mm256_loadu_ps(src + 5 * ld_src);
  __m256 r6 = _mm256_loadu_ps(src + 6 * ld_src), r7 = _mm256_loadu_ps(src + 7 * ld_src);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst + 0 * ld_dst, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + 1 * ld_dst, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 2 * ld_dst, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 3 * ld_dst, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 4 * ld_dst, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 5 * ld_dst, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 6 * ld_dst, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(dst + 7 * ld_dst, _mm256_permute2f128_ps(s3, s7, 0x31));
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
    float* dst = p.dst + static_cast<std::ptrdiff_t>(j0) * p.kc;
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
      for (; k0 + 8 <= p.kc; k0 += 8) {
        int j = 0;
        for (; j + 8 <= nrp; j += 8) transpose8x8(src + j * p.ldb + k0, p.ldb, dst + k0 * w + j, w);
        for (; j < nrp; ++j)
          for (int q = 0; q < 8; ++q) dst[(k0 + q) * w + j] = src[j * p.ldb + k0 + q];
      }
#endif
      for (int j = 0; j < nrp; ++j)
        for (int k = k0; k < p.kc; ++k) dst[k * w + j] = src[j * p.ldb + k];
      if (w > nrp)
        for (int k = 0; k < p.kc; ++k)
          for (int j = nrp; j < w; ++j) dst[k * w + j] = 0.0f;
    }
  }
}

// ------------------------------------------------------------ element-wise
template <class A>
float bce_sigmoid_row(const float* y, const float* t, float* dz, int n, float scale) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size);
  const V eps(1e-7f), one_m_eps(1.0f - 1e-7f), one(1.0f), sc(scale), zero(0.0f);
  V sum(0.0f);
  for (int j = 0; j < n; j += W) {
    const int m = imin(W, n - j);
    const V p = load_n<A>(y + j, m);
    const V tt = load_n<A>(t + j, m);
    const auto inside = (p > eps) && (p < one_m_eps);
    const V pc = xsimd::min(xsimd::max(p, eps), one_m_eps);
    V term = xsimd::fma(tt, xsimd::log(pc), (one - tt) * xsimd::log(one - pc));
    if (m < W) {  // drop the lanes past n
      alignas(64) float tmp[W];
      term.store_aligned(tmp);
      term = load_n<A>(tmp, m);
    }
    sum -= term;
    if (dz) store_n<A>(dz + j, xsimd::select(inside, (p - tt) * sc, zero), m);
  }
  return hsum<A>(sum);
}

template <class A>
void sgd(float* w, const float* g, float lr, std::size_t n) {
  using V = vf<A>;
  constexpr std::size_t W = V::size;
  const V vlr(lr);
  std::size_t i = 0;
  for (; i + W <= n; i += W) (V::load_unaligned(w + i) - vlr * V::load_unaligned(g + i)).store_unaligned(w + i);
  for (; i < n; ++i) w[i] -= lr * g[i];
}

template <class A>
bool all_finite(const float* x, std::size_t n) {
  using V = vf<A>;
  constexpr std::size_t W = V::size;
  V acc0(0.0f), acc1(0.0f);
  std::size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    acc0 += V::load_unaligned(x + i) * V(0.0f);  // NaN and inf survive * 0
    acc1 += V::load_unaligned(x + i + W) * V(0.0f);
  }
  float rest = 0.0f;
  for (; i < n; ++i) rest += x[i] * 0.0f;
  return xsimd::all((acc0 + acc1) == V(0.0f)) && rest == 0.0f;
}

template <class A>
void act_forward(Activation act, const float* x, float* y, std::size_t n) {
  constexpr std::size_t W = vf<A>::size;
  for (std::size_t i = 0; i < n; i += W) {
    const int m = static_cast<int>(n - i < W ? n - i : W);
    store_n<A>(y + i, activate<A>(act, load_n<A>(x + i, m)), m);
  }
}
template <class A>
void exp_array(const float* x, float* y, std::size_t n) {
  constexpr std::size_t W = vf<A>::size;
  for (std::size_t i = 0; i < n; i += W) {
    const int m = static_cast<int>(n - i < W ? n - i : W);
    store_n<A>(y + i, vmath::vexp<A>(load_n<A>(x + i, m)), m);
  }
}
template <class A>
void expm1_array(const float* x, float* y, std::size_t n) {
  constexpr std::size_t W = vf<A>::size;
  for (std::size_t i = 0; i < n; i += W) {
    const int m = static_cast<int>(n - i < W ? n - i : W);
    store_n<A>(y + i, vmath::vexpm1<A>(load_n<A>(x + i, m)), m);
  }
}

// ------------------------------------------------------------ the table
template <class A, int MR, int NV, int KC, int MC, int NC, int DMR, int DNJ>
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
                    &pack_b<A, NV * W>,
                    &bce_sigmoid_row<A>,
                    &sgd<A>,
                    &all_finite<A>,
                    &act_forward<A>,
                    &exp_array<A>,
                    &expm1_array<A>};
}

}  // namespace mote::kernels::MOTE_KERNEL_TU
