// Element-wise kernels of a training step on an xsimd Arch (BCE + its
// gradient, SGD, finiteness check), the array forms of the activations and
// the byte-to-float conversion of a training batch (pixels / 255).
#pragma once
#include <cstring>

#include "kernels/generic/simd.h"

namespace mote::kernels::MOTE_KERNEL_TU {

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
    V term = xsimd::fma(tt, vmath::vlog_unit<A>(pc), (one - tt) * vmath::vlog_unit<A>(one - pc));
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

// The same loss and dz from the logits z (bias added, no activation): dz =
// (p - t) * scale with p = sigmoid(z) as the sigmoid store step computes it
// (so dz is bce_sigmoid_row's on that p, bit for bit), the loss from z in
// softplus form (vmath::vsigmoid_bce), in two sweeps per block of up to 16
// vectors (exp(-|z|), then the rest) and one log per lane and block instead
// of two per element. The products behind the GEMMs the store steps do not
// fuse (batch 1, the tied decoder below 17 rows, an NN tail panel).
template <class A>
float bce_logits_row(const float* z, const float* t, float* dz, int n, float scale) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size), kBlock = 16;
  const vmath::BceClip<A> c = vmath::bce_clip<A>();
  const V sc(scale);
  alignas(64) static constexpr float kLane[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const V lane = V::load_aligned(kLane);
  alignas(64) float eb[kBlock * W];
  V total(0.0f);
  for (int j0 = 0; j0 < n; j0 += kBlock * W) {
    const int nb = imin(kBlock * W, n - j0);
    for (int j = 0; j < nb; j += W) vmath::vexp_neg_abs<A>(load_n<A>(z + j0 + j, imin(W, nb - j))).store_aligned(eb + j);
    vmath::BceAcc<A> acc;  // <= 16 factors per lane
    for (int j = 0; j < nb; j += W) {
      const int m = imin(W, nb - j);
      V d, f, l;
      vmath::vsigmoid_bce<A>(load_n<A>(z + j0 + j, m), V::load_aligned(eb + j), load_n<A>(t + j0 + j, m), sc, c, d,
                             f, l);
      store_n<A>(dz + j0 + j, d, m);
      if (m == W)
        acc.add(f, l);
      else
        acc.add(f, l, lane < V(static_cast<float>(m)));
    }
    total += acc.total();
  }
  return hsum<A>(total);
}

// The finiteness of the result rides along (the weights are in registers
// anyway: a separate all_finite pass over the weights cost ~1% of a step).
// One probe accumulator: the pass waits on memory, not on the FMA chain (four
// accumulators, unrolled, measured ~2 us slower per training step in sgd_swap).
template <class A>
bool sgd(float* w, const float* g, float lr, std::size_t n) {
  using V = vf<A>;
  constexpr std::size_t W = V::size;
  const V vlr(lr), zero(0.0f);
  V acc(0.0f);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    const V x = V::load_unaligned(w + i) - vlr * V::load_unaligned(g + i);
    x.store_unaligned(w + i);
    acc += x * zero;  // NaN and inf survive * 0
  }
  float rest = 0.0f;
  for (; i < n; ++i) {
    w[i] -= lr * g[i];
    rest += w[i] * 0.0f;
  }
  return xsimd::all(acc == zero) && rest == 0.0f;
}

// sgd keeping the undo record (g receives the old w), with g's finiteness
// too; the same expression as sgd, so the same bits.
template <class A>
unsigned sgd_swap(float* w, float* g, float lr, std::size_t n) {
  using V = vf<A>;
  constexpr std::size_t W = V::size;
  const V vlr(lr), zero(0.0f);
  V acc_g(0.0f), acc_w(0.0f);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    const V old = V::load_unaligned(w + i);
    const V grad = V::load_unaligned(g + i);
    const V x = old - vlr * grad;
    x.store_unaligned(w + i);
    old.store_unaligned(g + i);
    acc_g += grad * zero;  // NaN and inf survive * 0
    acc_w += x * zero;
  }
  float rest_g = 0.0f, rest_w = 0.0f;
  for (; i < n; ++i) {
    const float old = w[i], grad = g[i];
    w[i] -= lr * grad;
    g[i] = old;
    rest_g += grad * 0.0f;
    rest_w += w[i] * 0.0f;
  }
  return (xsimd::all(acc_g == zero) && rest_g == 0.0f ? 0u : kUpdateGradNonFinite) |
         (xsimd::all(acc_w == zero) && rest_w == 0.0f ? 0u : kUpdateWeightNonFinite);
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

// y[i] = f(x[i]) over whole vectors, the last one partial.
template <class A, class F>
void map_array(const float* x, float* y, std::size_t n, F f) {
  constexpr std::size_t W = vf<A>::size;
  for (std::size_t i = 0; i < n; i += W) {
    const int m = static_cast<int>(n - i < W ? n - i : W);
    store_n<A>(y + i, f(load_n<A>(x + i, m)), m);
  }
}
template <class A>
void act_forward(Activation act, const float* x, float* y, std::size_t n) {
  map_array<A>(x, y, n, [act](vf<A> v) { return activate<A>(act, v); });
}
template <class A>
void exp_array(const float* x, float* y, std::size_t n) {
  map_array<A>(x, y, n, [](vf<A> v) { return vmath::vexp<A>(v); });
}
template <class A>
void expm1_array(const float* x, float* y, std::size_t n) {
  map_array<A>(x, y, n, [](vf<A> v) { return vmath::vexpm1<A>(v); });
}

// ------------------------------------------------------------ bytes
// m <= W bytes at p as floats (integers 0..255, exact), lanes >= m zero.
template <class A>
inline vf<A> load_u8(const uint8_t* p, int m) {
  constexpr int W = static_cast<int>(vf<A>::size);
  if (m == W) {
#if defined(__AVX512F__)
    if constexpr (W == 16)
      return vf<A>(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))));
#endif
#if defined(__AVX2__)
    if constexpr (W == 8)
      return vf<A>(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)))));
#endif
#if defined(__ARM_NEON)
    if constexpr (W == 4) {
      uint32_t four;
      std::memcpy(&four, p, sizeof four);
      const uint16x8_t h = vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(four)));
      return vf<A>(vcvtq_f32_u32(vmovl_u16(vget_low_u16(h))));
    }
#endif
  }
  alignas(64) float tmp[W] = {};
  for (int i = 0; i < m; ++i) tmp[i] = static_cast<float>(p[i]);
  return vf<A>::load_aligned(tmp);
}

// dst[i] = float(src[i]) / 255, correctly rounded like the division, without
// one: 1/255 = 2^-8 + 2^-16 + 2^-16/255, so x/255 = x*hi + x*lo with
// hi = 2^-8 + 2^-16 (x*hi is exact: 8 x 9 significant bits) and lo =
// RN(2^-16/255). x*lo is ~2^-16 of the result, so rounding it (and lo) moves
// the sum by ~2^-40 relative, i.e. < 2^-16 ulp of the result; and x/255 is
// 0.bbbb... in binary (the byte repeated), so its bits past the 24th are
// never closer than 0.5/255 ulp to a rounding midpoint (b = 0 and 255 are
// exact). The final rounding is therefore the division's, whether or not the
// FMA is fused. The test checks all 256 bytes on every kernel set; a plain
// x * RN(1/255) is off by an ulp for 126 of them, and vdivps costs ~4x more.
template <class A>
void u8_to_f32(const uint8_t* src, float* dst, std::size_t n) {
  using V = vf<A>;
  constexpr std::size_t W = V::size;
  const V hi(0x1.01p-8f), lo(0x1p-16f / 255.0f);
  for (std::size_t i = 0; i < n; i += W) {
    const int m = static_cast<int>(n - i < W ? n - i : W);
    const V x = load_u8<A>(src + i, m);
    store_n<A>(dst + i, xsimd::fma(x, lo, x * hi), m);
  }
}

}  // namespace mote::kernels::MOTE_KERNEL_TU
