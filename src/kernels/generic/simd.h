// Shared pieces of the xsimd kernel sets: vector type, partial loads and
// stores, horizontal sum, and the activation epilogue. Included by every
// generic/*_xsimd.h inside the TU's MOTE_KERNEL_TU namespace.
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

// Loads of the first n lanes, n in [1, W]: the mask is built once per call
// (load_n tests n == W and rebuilds it at every load: ~15% of the NT
// GEMV kernel; fwd2's broadcast tile reloaded the mask every k).
template <class A>
struct TailLoad {
  int n;
#if defined(__AVX512F__)
  __mmask16 k16 = 0;
#endif
#if defined(__AVX__)
  __m256i m8{};
#endif
  explicit TailLoad(int lanes) : n(lanes) {
    constexpr int W = static_cast<int>(vf<A>::size);
#if defined(__AVX512F__)
    if constexpr (W == 16) k16 = static_cast<__mmask16>((1u << lanes) - 1u);
#endif
#if defined(__AVX__)
    if constexpr (W == 8) m8 = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
#endif
    (void)W;
  }
  vf<A> operator()(const float* p) const {
    constexpr int W = static_cast<int>(vf<A>::size);
#if defined(__AVX512F__)
    if constexpr (W == 16) return vf<A>(_mm512_maskz_loadu_ps(k16, p));
#endif
#if defined(__AVX__)
    if constexpr (W == 8) return vf<A>(_mm256_maskload_ps(p, m8));
#endif
    (void)W;
    return load_n<A>(p, n);
  }
};

// Vector v of a row of NV vectors, the last one through `tail` when Tail.
template <class A, int NV, bool Tail>
inline vf<A> load_row(const float* row, int v, const TailLoad<A>& tail) {
  constexpr int W = static_cast<int>(vf<A>::size);
  if constexpr (Tail)
    if (v == NV - 1) return tail(row + v * W);
  return vf<A>::load_unaligned(row + v * W);
}

#if defined(__AVX__)
// The first n floats of x to p with plain stores (n in [0, 4] and [0, 8]):
// a masked store (vmaskmovps) is microcoded on AMD's Zen 2 and 3 (~12
// cycles each); the tied decoder's C^T tile stores rows of 6 floats and ran
// 25% slower through it (Zen 3).
inline void store_first4(float* p, __m128 x, int n) {
  if (n == 4) {
    _mm_storeu_ps(p, x);
    return;
  }
  if (n & 2) {
    _mm_storel_epi64(reinterpret_cast<__m128i_u*>(p), _mm_castps_si128(x));  // an unaligned 8-byte store
    x = _mm_movehl_ps(x, x);
    p += 2;
  }
  if (n & 1) _mm_store_ss(p, x);
}
inline void store_first8(float* p, __m256 x, int n) {
  if (n == 8) {
    _mm256_storeu_ps(p, x);
    return;
  }
  __m128 part = _mm256_castps256_ps128(x);
  if (n >= 4) {
    _mm_storeu_ps(p, part);
    part = _mm256_extractf128_ps(x, 1);
    p += 4;
    n -= 4;
  }
  store_first4(p, part, n);
}
#endif

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
    store_first8(p, x, n);
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

}  // namespace mote::kernels::MOTE_KERNEL_TU
