// Helpers shared by the tests: seeded random data, models bound to a vector.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "mote/model.h"
#include "mote/rng.h"

namespace mote::test {

inline std::vector<float> random_vector(std::size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Rng r(seed, 99);
  std::vector<float> v(n);
  for (float& x : v) x = lo + (hi - lo) * r.uniform();
  return v;
}

// A model plus the memory it is bound to (test-only convenience).
struct BoundModel {
  std::vector<std::byte> bytes;
  Model model;
  std::vector<float> external;

  BoundModel(const ModelSpec& spec, const PlanOptions& opts, const float* ext = nullptr, std::size_t ext_n = 0) {
    const std::size_t n = arena_bytes(spec, opts);
    REQUIRE(n > 0);
    bytes.resize(n + kAlign);
    if (ext) external.assign(ext, ext + ext_n);
    const Status s = model.bind(spec, opts, bytes.data(), bytes.size(), ext ? external.data() : nullptr, ext_n);
    REQUIRE(s == Status::ok);
  }
};

// NaN-safe closeness: |a - b| <= abs_tol + rel_tol * max(|a|, |b|).
inline bool close(double a, double b, double abs_tol, double rel_tol) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::fabs(a - b) <= abs_tol + rel_tol * std::fmax(std::fabs(a), std::fabs(b));
}

}  // namespace mote::test
