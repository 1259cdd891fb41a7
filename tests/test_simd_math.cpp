// Vectorized exp, expm1, sigmoid and SELU of every compiled kernel set against
// std::exp / std::expm1 in double, over the whole float domain: every 127th bit
// pattern (34 million values, both signs, denormals included), dense sweeps of
// the saturation edges, and the special values. Bounds are those documented in
// kernels/generic/vmath.h; the scalar set (libm) must meet them too.
// u8_to_f32 (byte pixels / 255) is checked bit for bit for all 256 bytes.
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "emulation.h"
#include "kernels/activation.h"
#include "kernels/gemm_kernels.h"
#include "kernel_sets.h"

namespace {

using mote::Activation;
using mote::kernels::IsaKernels;

constexpr double kUlp = FLT_EPSILON;  // 2^-23: one ulp at 1
constexpr double kMinDenorm = 1.401298464324817e-45;

float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}

double exact(int fn, double x) {
  switch (fn) {
    case 0: return std::exp(x);
    case 1: return std::expm1(x);
    case 2: return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
    default:
      return x > 0 ? 1.0507009873554805 * x : 1.0507009873554805 * 1.6732632423543772 * std::expm1(x);
  }
}
const char* kNames[] = {"exp", "expm1", "sigmoid", "selu"};
// Documented bounds (vmath.h), in ulps of the exact result.
const double kUlps[] = {2.0, 3.0, 3.0, 3.0};

void eval(const IsaKernels& k, int fn, const std::vector<float>& x, std::vector<float>& y) {
  y.resize(x.size());
  switch (fn) {
    case 0: k.exp(x.data(), y.data(), x.size()); break;
    case 1: k.expm1(x.data(), y.data(), x.size()); break;
    case 2: k.act_forward(Activation::sigmoid, x.data(), y.data(), x.size()); break;
    default: k.act_forward(Activation::selu, x.data(), y.data(), x.size()); break;
  }
}

// Relative error in ulps of the float nearest the exact value; results that
// are (or should be) denormal are held to an absolute 2^-149 instead, and
// overflow must give inf exactly when the exact value exceeds FLT_MAX.
struct Worst {
  double ulps = 0;
  float at = 0;
  int bad = 0;
};

void check(const IsaKernels& k, int fn, const std::vector<float>& x, Worst* w) {
  std::vector<float> y;
  eval(k, fn, x, y);
  // ARMv7 Advanced SIMD always runs flush-to-zero (Arm ARM, "Flush-to-zero
  // mode"): subnormal inputs read as 0 and subnormal results become 0, so a
  // result below FLT_MIN, or one scaled by 2^n through a subnormal
  // intermediate (just above FLT_MIN), may be 0 there. AArch64 and x86 keep
  // subnormals and are held to the plain bound.
  const bool ftz = std::string(k.name) == "neon";
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = exact(fn, static_cast<double>(x[i]));
    const double g = static_cast<double>(y[i]);
    bool ok;
    double ulps = 0;
    if (std::isnan(e)) {
      ok = std::isnan(g);
    } else if (std::fabs(e) > FLT_MAX * (1.0 + kUlp / 2)) {
      ok = std::isinf(g) && (g > 0) == (e > 0);
    } else if (std::fabs(e) < FLT_MIN) {
      ok = std::fabs(g - e) <= 2 * kMinDenorm || (ftz && g == 0.0);
    } else if (ftz && g == 0.0 && std::fabs(e) < 4.0 * FLT_MIN) {
      ok = true;  // scaled by 2^n through a subnormal intermediate, flushed
    } else {
      const double ulp = std::ldexp(kUlp, std::ilogb(static_cast<float>(e)));
      ulps = std::fabs(g - e) / ulp;
      // armv7 NEON divides by reciprocal estimate + Newton steps (vmath.h).
      const double bound = fn == 2 && std::string(k.name) == "neon" ? 5.0 : kUlps[fn];
      ok = ulps <= bound;
    }
    if (ulps > w->ulps) {
      w->ulps = ulps;
      w->at = x[i];
    }
    if (!ok && ++w->bad <= 5)
      MESSAGE(std::string(k.name), " ", std::string(kNames[fn]), "(", x[i], ") = ", y[i], ", exact ", e);
  }
}

}  // namespace

TEST_CASE("vector exp / expm1 / sigmoid / selu over the whole float domain") {
  std::vector<float> x;
  // Every 127th bit pattern (every 1021st under emulation, MOTE_TEST_LIGHT):
  // all exponents, both signs, denormals, inf and NaN patterns.
  const uint64_t stride = mote::test::light() ? 1021 : 127;
  for (uint64_t b = 0; b <= 0xFFFFFFFFull; b += stride) x.push_back(from_bits(static_cast<uint32_t>(b)));
  // Dense edges: exp overflow (88.72), underflow to denormals and zero (-87.3 .. -104),
  // expm1's n = 0 interval (|x| < ln2/2), sigmoid's saturation.
  for (float a : {88.7f, -87.3f, -103.97f, -0.3466f, 0.3466f, 16.6f, -16.6f, 0.0f}) {
    float v = a;
    for (int i = 0; i < 2000; ++i) v = std::nextafter(v, 1e30f);
    for (int i = 0; i < 4000; ++i) x.push_back(v = std::nextafter(v, -1e30f));
  }
  const float specials[] = {0.0f, -0.0f, FLT_MIN, -FLT_MIN, from_bits(1), from_bits(0x80000001u), FLT_MAX, -FLT_MAX,
                            std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN()};
  x.insert(x.end(), std::begin(specials), std::end(specials));
  for (const IsaKernels* k : mote::test::testable_kernel_sets()) {
    for (int fn = 0; fn < 4; ++fn) {
      Worst w;
      check(*k, fn, x, &w);
      MESSAGE(std::string(k->name), " ", std::string(kNames[fn]), ": max ", w.ulps, " ulp at x = ", w.at,
              " over ", x.size(), " inputs");
      CHECK_MESSAGE(w.bad == 0, k->name, " ", kNames[fn]);
    }
  }
}

TEST_CASE("special values: +-inf saturate, NaN propagates, -0 stays finite") {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {inf, -inf, std::nanf(""), -0.0f, 1e-30f, -1e-30f};
  for (const IsaKernels* k : mote::test::testable_kernel_sets()) {
    std::vector<float> y;
    eval(*k, 0, x, y);  // exp
    CHECK(y[0] == inf);
    CHECK(y[1] == 0.0f);
    CHECK(std::isnan(y[2]));
    CHECK(y[3] == 1.0f);
    eval(*k, 1, x, y);  // expm1: tiny x keeps its relative precision
    CHECK(y[1] == -1.0f);
    CHECK(std::isnan(y[2]));
    CHECK(y[4] == 1e-30f);
    CHECK(y[5] == -1e-30f);
    eval(*k, 2, x, y);  // sigmoid
    CHECK(y[0] == 1.0f);
    CHECK(y[1] == 0.0f);
    CHECK(std::isnan(y[2]));
    CHECK(y[3] == 0.5f);
    eval(*k, 3, x, y);  // selu
    CHECK(y[0] == inf);
    CHECK(y[1] == doctest::Approx(-1.0507009873554805 * 1.6732632423543772));
    CHECK(std::isnan(y[2]));
  }
}

TEST_CASE("fused BCE gradient, SGD update and finiteness check match the scalar definitions") {
  std::vector<float> y(1000), t(1000);
  for (std::size_t i = 0; i < y.size(); ++i) {
    y[i] = static_cast<float>(i) / 999.0f;  // includes 0 and 1: the clip is active there
    t[i] = static_cast<float>((i * 7919) % 1000) / 999.0f;
  }
  for (const IsaKernels* k : mote::test::testable_kernel_sets()) {
    for (int n : {1, 5, 16, 17, 784, 1000}) {
      std::vector<float> dz(static_cast<std::size_t>(n), 9.0f);
      const float got = k->bce_sigmoid_row(y.data(), t.data(), dz.data(), n, 0.5f);
      double want = 0;
      for (int j = 0; j < n; ++j) {
        const bool inside = y[j] > 1e-7f && y[j] < 1.0f - 1e-7f;
        const double pc = inside ? y[j] : (y[j] <= 1e-7f ? 1e-7 : 1.0 - 1e-7);
        want -= t[j] * std::log(pc) + (1.0 - t[j]) * std::log(1.0 - pc);
        CHECK(dz[j] == (inside ? (y[j] - t[j]) * 0.5f : 0.0f));
      }
      // n terms of size <= 16.2 summed in float: n * u * sum plus the log's 2 ulp each.
      CHECK(std::fabs(got - want) <= (n + 4) * 6e-8 * (std::fabs(want) + 16.2 * n) + 1e-6);
    }
    std::vector<float> w(37, 1.0f), g(37, 2.0f);
    CHECK(k->sgd(w.data(), g.data(), 0.25f, w.size()));
    for (float v : w) CHECK(v == 0.5f);
    for (std::size_t at : {std::size_t{0}, std::size_t{17}, std::size_t{36}}) {  // an update that overflows
      std::vector<float> w2(37, 1.0f), g2(37, 0.0f);
      g2[at] = -std::numeric_limits<float>::max();
      CHECK_FALSE(k->sgd(w2.data(), g2.data(), 4.0f, w2.size()));
      CHECK(std::isinf(w2[at]));
    }
    CHECK(k->all_finite(g.data(), g.size()));
    for (std::size_t at : {std::size_t{0}, std::size_t{17}, std::size_t{36}}) {
      g[at] = std::nanf("");
      CHECK_FALSE(k->all_finite(g.data(), g.size()));
      g[at] = -std::numeric_limits<float>::infinity();
      CHECK_FALSE(k->all_finite(g.data(), g.size()));
      g[at] = 2.0f;
    }
  }
}

TEST_CASE("u8_to_f32 is bit for bit float(b) / 255.0f for every byte, at every length") {
  auto bits = [](float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
  };
  std::vector<uint8_t> all(256);
  for (int b = 0; b < 256; ++b) all[static_cast<std::size_t>(b)] = static_cast<uint8_t>(b);
  // Every byte value at many lane positions (37 is odd: the pattern runs through all 256).
  std::vector<uint8_t> mixed(1003);
  for (std::size_t i = 0; i < mixed.size(); ++i) mixed[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
  constexpr float kSentinel = -7.0f;
  for (const IsaKernels* k : mote::test::testable_kernel_sets()) {
    CAPTURE(std::string(k->name));
    const bool has_kernel = k->u8_to_f32 != nullptr;
    REQUIRE(has_kernel);
    std::vector<float> out(256, kSentinel);
    k->u8_to_f32(all.data(), out.data(), out.size());
    int wrong = 0;
    for (int b = 0; b < 256; ++b)
      wrong += bits(out[static_cast<std::size_t>(b)]) != bits(static_cast<float>(b) / 255.0f);
    CHECK(wrong == 0);
    for (std::size_t n : {std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{17}, std::size_t{784},
                          std::size_t{1000}}) {
      for (std::size_t first : {std::size_t{0}, std::size_t{3}}) {  // an unaligned start too
        CAPTURE(n);
        CAPTURE(first);
        std::vector<float> dst(n + 16, kSentinel);
        k->u8_to_f32(mixed.data() + first, dst.data(), n);
        int bad = 0, touched = 0;
        for (std::size_t i = 0; i < n; ++i)
          bad += bits(dst[i]) != bits(static_cast<float>(mixed[first + i]) / 255.0f);
        for (std::size_t i = n; i < dst.size(); ++i) touched += dst[i] != kSentinel;  // nothing past n written
        CHECK(bad == 0);
        CHECK(touched == 0);
      }
    }
  }
}
