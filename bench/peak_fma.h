// FMA-peak loop on an xsimd Arch: 12 independent chains of acc = acc * m + c
// (more than latency x throughput = 4 x 2 on current x86 cores), 2 FLOPs per
// lane per FMA. Included by peak_avx2.cpp / peak_avx512.cpp with their flags.
#pragma once
#include <xsimd/xsimd.hpp>

#include "bench_common.h"

namespace bench {

template <class Arch>
double peak_loop(int64_t iters) {
  using V = xsimd::batch<float, Arch>;
  constexpr int kChains = 12;
  V acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = V(static_cast<float>(i));
  const V m(0.999f), c(0.001f);
  for (int64_t it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = xsimd::fma(acc[i], m, c);
  alignas(64) float out[V::size];
  V sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum += acc[i];
  sum.store_aligned(out);
  keep(out);
  return 2.0 * kChains * V::size * static_cast<double>(iters);
}

// Read bandwidth: sums n floats (a buffer that stays in L2) with 4 vector
// accumulators; returns the bytes read. The batch-1 inference bound (the
// 784 x 100 kernel read twice per image) comes from this rate.
template <class Arch>
double read_loop(const float* p, int64_t n) {
  using V = xsimd::batch<float, Arch>;
  constexpr int64_t W = static_cast<int64_t>(V::size);
  V a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    a0 += V::load_unaligned(p + i);
    a1 += V::load_unaligned(p + i + W);
    a2 += V::load_unaligned(p + i + 2 * W);
    a3 += V::load_unaligned(p + i + 3 * W);
  }
  alignas(64) float out[V::size];
  ((a0 + a1) + (a2 + a3)).store_aligned(out);
  keep(out);
  return 4.0 * static_cast<double>(i);
}

}  // namespace bench
