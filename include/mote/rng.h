// mote/rng.h - a small seeded generator (PCG32, O'Neill 2014): the same seed
// gives the same weights and the same epoch order on every platform.
//
//   mote::Rng rng(42);
//   float u = rng.uniform();          // [0, 1)
//   uint32_t i = rng.below(55000);    // [0, n)
#pragma once
#include <cstdint>

namespace mote {

class Rng {
 public:
  constexpr explicit Rng(uint64_t seed = 0, uint64_t stream = 54) { reseed(seed, stream); }
  constexpr void reseed(uint64_t seed, uint64_t stream = 54) {
    state_ = 0;
    inc_ = (stream << 1u) | 1u;
    next();
    state_ += seed;
    next();
  }
  constexpr uint32_t next() {
    const uint64_t old = state_;
    state_ = old * 6364136223846793005ULL + inc_;
    const auto xorshifted = static_cast<uint32_t>(((old >> 18u) ^ old) >> 27u);
    const auto rot = static_cast<uint32_t>(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
  }
  constexpr float uniform() { return static_cast<float>(next() >> 8) * (1.0f / 16777216.0f); }
  // Multiply-shift reduction (Lemire); the bias is below 2^-32 * n.
  constexpr uint32_t below(uint32_t n) { return static_cast<uint32_t>((static_cast<uint64_t>(next()) * n) >> 32); }

  // Raw state, for checkpoints.
  constexpr uint64_t state() const { return state_; }
  constexpr uint64_t increment() const { return inc_; }
  constexpr void restore(uint64_t state, uint64_t inc) { state_ = state; inc_ = inc | 1u; }

 private:
  uint64_t state_ = 0;
  uint64_t inc_ = 1;
};

}  // namespace mote
