// Vectorized exp, expm1, sigmoid and SELU on xsimd batches (any Arch).
//
//   using V = xsimd::batch<float, xsimd::avx512f>;
//   V y = vsigmoid(V::load_unaligned(p));
//
// Included ONLY by the per-ISA kernel translation units, which define
// MOTE_KERNEL_TU (a namespace name unique to the TU) first: every inline
// function here then has a TU-specific name, so copies built with different
// ISA flags never merge at link time (an AVX-512 copy picked by the linker for
// the AVX2 path would fault on a CPU without AVX-512).
//
// Method (Cephes expf): n = round(x / ln2), r = x - n ln2 (ln2 split hi/lo so
// r is exact to ~2^-35), exp(r) = 1 + r + r^2 q(r) with Cephes' degree-5
// minimax q on |r| <= ln2/2, then * 2^n built in the exponent field.
//
// Maximum errors, measured over every 127th float bit pattern plus dense
// sweeps of the edges against std::exp/std::expm1 in double (ulp of the exact
// result; tests/test_simd_math.cpp asserts the bounds in brackets):
//   vexp      1.00 ulp [2] for results >= FLT_MIN; the gradual underflow below
//             it is rounded once (abs error <= 2^-149); x > 88.7228 -> +inf,
//             x < -103.98 -> +0, NaN -> NaN.
//   vexpm1    1.40 ulp [3]; for n = 0 (|x| < ln2/2) the result is r + r^2 q(r)
//             without cancellation, so tiny x keep full relative precision.
//   vsigmoid  2.25 ulp [3] over the whole domain, denormal outputs included
//             (abs <= 2^-149): e = exp(-|x|) never overflows, one division
//             (x >= 0 ? 1 : e) / (1 + e). +-inf -> 1 / 0, NaN -> NaN.
//             armv7 NEON (no vector divide): [5].
//   vselu     1.71 ulp [3] (x <= 0 goes through vexpm1; x > 0 is lambda * x).
//   vlog_unit (BCE only, x normal and positive) 0.82 ulp over every float
//             in [1e-7, 1] and 0.83 over [1, 256] (the products of the fused
//             BCE); tests/test_simd_math.cpp checks the BCE built on it.
// Multiplications by 2^n use two factors 2^(n/2) and 2^(n - n/2), so no
// intermediate over- or underflows before the final rounding.
#pragma once
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#ifndef MOTE_KERNEL_TU
#error "define MOTE_KERNEL_TU (a per-TU namespace) before including kernels/generic headers"
#endif

namespace mote::kernels::MOTE_KERNEL_TU::vmath {

template <class A>
using vf = xsimd::batch<float, A>;
template <class A>
using vi = xsimd::batch<int32_t, A>;

inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;

// exp(r) - 1 - r, divided by r^2: Cephes expf polynomial.
template <class A>
inline vf<A> exp_q(vf<A> r) {
  vf<A> q(1.9875691500e-4f);
  q = xsimd::fma(q, r, vf<A>(1.3981999507e-3f));
  q = xsimd::fma(q, r, vf<A>(8.3334519073e-3f));
  q = xsimd::fma(q, r, vf<A>(4.1665795894e-2f));
  q = xsimd::fma(q, r, vf<A>(1.6666665459e-1f));
  q = xsimd::fma(q, r, vf<A>(5.0000001201e-1f));
  return q;
}

// 2^n for n in [-126, 127], from the exponent field.
template <class A>
inline vf<A> pow2i(vi<A> n) {
  return xsimd::bitwise_cast<vf<A>>((n + vi<A>(127)) << 23);
}

// kNonPositive: the caller guarantees x <= 0 or NaN (exp(-|z|)), and the
// clamp at 89 is left out (min(89, x) = x there: the same result).
template <class A, bool kNonPositive = false>
inline vf<A> vexp(vf<A> x) {
#if defined(__AVX512F__)
  if constexpr (vf<A>::size == 16) {
    // vscalefps multiplies by 2^fn with one rounding (overflow to inf,
    // gradual underflow): the same result as the two-factor product below in
    // 6 fewer instructions. vmaxps/vminps return their second operand when
    // either is NaN, so x second lets a NaN through without a select.
    const __m512 lo = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);
    const __m512 xc = kNonPositive ? lo : _mm512_min_ps(_mm512_set1_ps(89.0f), lo);
    const vf<A> fn(_mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    vf<A> r = xsimd::fnma(fn, vf<A>(kLn2Hi), vf<A>(xc));
    r = xsimd::fnma(fn, vf<A>(kLn2Lo), r);
    const vf<A> p = xsimd::fma(exp_q(r), r * r, r) + vf<A>(1.0f);
    return vf<A>(_mm512_scalef_ps(p, fn));
  }
#endif
  const vf<A> lo = xsimd::max(x, vf<A>(-104.0f));
  const vf<A> xc = kNonPositive ? lo : xsimd::min(lo, vf<A>(89.0f));
  const vf<A> fn = xsimd::nearbyint(xc * vf<A>(kLog2e));
  vf<A> r = xsimd::fnma(fn, vf<A>(kLn2Hi), xc);
  r = xsimd::fnma(fn, vf<A>(kLn2Lo), r);
  const vf<A> p = xsimd::fma(exp_q(r), r * r, r) + vf<A>(1.0f);
  const vi<A> n = xsimd::batch_cast<int32_t>(fn);
  const vi<A> n1 = n >> 1;
  const vf<A> y = p * pow2i<A>(n1) * pow2i<A>(n - n1);
  return xsimd::select(xsimd::isnan(x), x, y);
}

template <class A>
inline vf<A> vexpm1(vf<A> x) {
  // Below -88 the result is -1 to float precision; above 88.7 it overflows.
  const vf<A> xc = xsimd::min(xsimd::max(x, vf<A>(-88.0f)), vf<A>(89.0f));
  const vf<A> fn = xsimd::nearbyint(xc * vf<A>(kLog2e));
  vf<A> r = xsimd::fnma(fn, vf<A>(kLn2Hi), xc);
  r = xsimd::fnma(fn, vf<A>(kLn2Lo), r);
  const vf<A> p = xsimd::fma(exp_q(r), r * r, r);  // exp(r) - 1
  const vi<A> n = xsimd::batch_cast<int32_t>(fn);
  const vi<A> n1 = n >> 1;
  const vf<A> s1 = pow2i<A>(n1);
  const vf<A> s = s1 * pow2i<A>(n - n1);
  // 2^n (p + 1) - 1 = 2^n p + (2^n - 1); 2^n - 1 is exact for n in [-24, 24].
  // Above that the -1 is below half an ulp, and 2^n may overflow on its own:
  // scale (p + 1) one factor at a time.
  const vf<A> small = xsimd::fma(s, p, s - vf<A>(1.0f));
  const vf<A> big = (p + vf<A>(1.0f)) * s1 * pow2i<A>(n - n1);
  const vf<A> y = xsimd::select(fn > vf<A>(24.0f), big, small);
  return xsimd::select(xsimd::isnan(x), x, y);
}

// IEEE division. (xsimd 8.1 divides floats on neon64 with a reciprocal
// estimate and two Newton steps, 1-2 ulp off; armv7 NEON has no divide, so
// there the estimate stays and the sigmoid bound is 5 ulp.)
template <class A>
inline vf<A> vdiv(vf<A> a, vf<A> b) {
#if defined(__aarch64__)
  if constexpr (std::is_same_v<A, xsimd::neon64>) return vf<A>(vdivq_f32(a, b));
#endif
  return a / b;
}

// exp(-|x|) (x <= 0 or NaN into vexp: no upper clamp needed).
template <class A>
inline vf<A> vexp_neg_abs(vf<A> x) {
#if defined(__AVX512F__)
  if constexpr (vf<A>::size == 16) {  // -|x| in one OR of the sign bit (a NaN stays NaN)
    const __m512i bits = _mm512_or_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN));
    return vexp<A, true>(vf<A>(_mm512_castsi512_ps(bits)));
  }
#endif
  return vexp<A, true>(-xsimd::abs(x));
}

// The sigmoid in two stages, e = vexp_neg_abs(x) then vsigmoid_from_exp(x,
// e): a tile runs each stage as its own loop over its vectors, so each
// dependency chain is half as long and more of them fit the out-of-order
// window (one loop of whole sigmoids left the FP pipes idle on Zen 4).
template <class A>
inline vf<A> vsigmoid_from_exp(vf<A> x, vf<A> e) {
  // One correctly rounded division: 1 / (1 + e) for x >= 0, e / (1 + e) below.
  return vdiv<A>(xsimd::select(x >= vf<A>(0.0f), vf<A>(1.0f), e), vf<A>(1.0f) + e);
}

template <class A>
inline vf<A> vsigmoid(vf<A> x) {
  return vsigmoid_from_exp<A>(x, vexp_neg_abs<A>(x));
}

inline constexpr float kLambda = 1.0507009873554805f;
inline constexpr float kLambdaAlpha = 1.0507009873554805f * 1.6732632423543772f;

template <class A>
inline vf<A> vselu(vf<A> x) {
  const vf<A> neg = vf<A>(kLambdaAlpha) * vexpm1(xsimd::min(x, vf<A>(0.0f)));
  // NaN: x > 0 is false and vexpm1(min(NaN, 0)) may be 0, so pass x through.
  return xsimd::select(x > vf<A>(0.0f), vf<A>(kLambda) * x, xsimd::select(xsimd::isnan(x), x, neg));
}

// log(x) for normal positive x: the clipped probabilities of the BCE loss
// and the products of 1 + exp(-|z|) of its fused form (no zero, negative,
// inf, NaN or denormal input is handled). Cephes logf:
// x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(1 + f) = f - f^2/2 +
// f^3 P(f) with Cephes' degree-8 minimax P, e ln2 added in two parts.
template <class A>
inline vf<A> vlog_unit(vf<A> x) {
  const vi<A> bits = xsimd::bitwise_cast<vi<A>>(x);
  vf<A> m = xsimd::bitwise_cast<vf<A>>((bits & vi<A>(0x007fffff)) | vi<A>(0x3f800000));  // [1, 2)
  vf<A> e = xsimd::batch_cast<float>((bits >> 23) - vi<A>(127));
  const auto high = m > vf<A>(1.41421356237f);
  m = xsimd::select(high, m * vf<A>(0.5f), m);
  e = xsimd::select(high, e + vf<A>(1.0f), e);
  const vf<A> f = m - vf<A>(1.0f);  // exact
  const vf<A> z = f * f;
  vf<A> p(7.0376836292e-2f);
  p = xsimd::fma(p, f, vf<A>(-1.1514610310e-1f));
  p = xsimd::fma(p, f, vf<A>(1.1676998740e-1f));
  p = xsimd::fma(p, f, vf<A>(-1.2420140846e-1f));
  p = xsimd::fma(p, f, vf<A>(1.4249322787e-1f));
  p = xsimd::fma(p, f, vf<A>(-1.6668057665e-1f));
  p = xsimd::fma(p, f, vf<A>(2.0000714765e-1f));
  p = xsimd::fma(p, f, vf<A>(-2.4999993993e-1f));
  p = xsimd::fma(p, f, vf<A>(3.3333331174e-1f));
  vf<A> y = p * f * z;
  y = xsimd::fma(e, vf<A>(kLn2Lo), y);
  y = xsimd::fnma(vf<A>(0.5f), z, y);
  return xsimd::fma(e, vf<A>(kLn2Hi), f + y);
}

// Sigmoid + binary cross-entropy on the logit z (the tied decoder's fused
// store step): p = vsigmoid(z) exactly as above, dz = (p - t) * scale where
// Keras' clip [eps, 1 - eps] is inactive, 0 where it is. The loss term
// -(t log pc + (1 - t) log(1 - pc)), pc = clip(p), is returned in two parts,
// term = log(factor) + lin: inside the clip, from z in softplus form,
// log(1 + e) + (z >= 0 ? (1 - t) z : -t z) with e = exp(-|z|) shared with
// the sigmoid (no cancellation in 1 - p); where the clip is active, factor =
// 1 and lin = the clipped term (`c`: at pc = eps and pc = 1 - eps for t = 0
// and t = 1, computed by the caller with the unfused loss's float
// arithmetic). factor is in [1, 2]: the caller multiplies up to 126 of them
// per lane and takes one log of the product (a product of n factors is
// within n * 2^-24 relative: the log of it within n * 6e-8 absolute, the
// order of n separate logs' rounding), so the loss costs one log per lane
// and tile instead of two per element.
template <class A>
struct BceClip {
  vf<A> eps, one_m_eps, lo_t0, lo_t1, hi_t0, hi_t1;
};
// The clip constants of the fused BCE: the clipped terms with the unfused
// loss's float arithmetic (pc = eps and pc = 1 - eps; 1 - 1e-7f rounds to
// 1 - 2^-23), computed once: GCC does not fold the three logs of constants,
// ~100 instructions per call.
template <class A>
inline BceClip<A> bce_clip() {
  using V = vf<A>;
  struct Clip {
    float eps, one_m_eps, lo_t0, lo_t1, hi_t0, hi_t1;
  };
  static const Clip k = [] {
    const V eps(1e-7f), one_m_eps = V(1.0f) - eps;
    const V l_eps = vlog_unit<A>(eps), l_1me = vlog_unit<A>(one_m_eps);
    const V l_hi = vlog_unit<A>(V(1.0f) - one_m_eps);
    return Clip{eps.get(0), one_m_eps.get(0), -l_1me.get(0), -l_eps.get(0), -l_hi.get(0), -l_1me.get(0)};
  }();
  BceClip<A> c;
  c.eps = V(k.eps);
  c.one_m_eps = V(k.one_m_eps);
  c.lo_t0 = V(k.lo_t0);
  c.lo_t1 = V(k.lo_t1);
  c.hi_t0 = V(k.hi_t0);
  c.hi_t1 = V(k.hi_t1);
  return c;
}

// The loss of a tile or block of vsigmoid_bce terms, per lane: the lin parts
// summed, the factors multiplied (<= 126 per lane before one log of the
// product, total()). The masked add leaves out the lanes past a row's end.
template <class A>
struct BceAcc {
  vf<A> sum = vf<A>(0.0f), prod = vf<A>(1.0f);
  void add(vf<A> factor, vf<A> lin) {
    prod *= factor;
    sum += lin;
  }
  void add(vf<A> factor, vf<A> lin, xsimd::batch_bool<float, A> in) {
    prod = xsimd::select(in, prod * factor, prod);
    sum += xsimd::select(in, lin, vf<A>(0.0f));
  }
  vf<A> total() const { return sum + vlog_unit<A>(prod); }
};

// The second stage, as vsigmoid_from_exp: e = vexp_neg_abs(z) comes in.
template <class A>
inline void vsigmoid_bce(vf<A> z, vf<A> e, vf<A> t, vf<A> scale, const BceClip<A>& c, vf<A>& dz, vf<A>& factor,
                         vf<A>& lin) {
  const vf<A> one(1.0f), zero(0.0f);
  const vf<A> ope = one + e;
  const auto pos = z >= zero;
  const vf<A> p = vdiv<A>(xsimd::select(pos, one, e), ope);
  const auto inside = (p > c.eps) && (p < c.one_m_eps);
  dz = xsimd::select(inside, (p - t) * scale, zero);
  factor = xsimd::select(inside, ope, one);
  // NaN p (a NaN logit) takes the upper clip, as the unfused loss does.
  const vf<A> clipped = xsimd::select(p <= c.eps, xsimd::fma(t, c.lo_t1 - c.lo_t0, c.lo_t0),
                                      xsimd::fma(t, c.hi_t1 - c.hi_t0, c.hi_t0));
  lin = xsimd::select(inside, xsimd::select(pos, (one - t) * z, -(t * z)), clipped);
}

// Derivatives expressed on the output y (see kernels/activation.h).
template <class A>
inline vf<A> vselu_grad_from_y(vf<A> y) {
  return xsimd::select(y > vf<A>(0.0f), vf<A>(kLambda), y + vf<A>(kLambdaAlpha));
}
template <class A>
inline vf<A> vsigmoid_grad_from_y(vf<A> y) {
  return y * (vf<A>(1.0f) - y);
}

}  // namespace mote::kernels::MOTE_KERNEL_TU::vmath
