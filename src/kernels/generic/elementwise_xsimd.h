// Element-wise kernels of a training step on an xsimd Arch (BCE + its
// gradient, SGD, finiteness check) and the array forms of the activations.
#pragma once
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

// The finiteness of the result rides along (the weights are in registers
// anyway): a separate all_finite pass over the weights cost ~1% of a step.
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

}  // namespace mote::kernels::MOTE_KERNEL_TU
