// Same-process A/B of two builds of one kernel set (bench/ab-kernels builds
// this): the tables `ab_base` and `ab_new` run the model's GEMM rows through
// the work tree's driver (gemm::run_with), alternated block by block so that
// a neighbour's load on a shared machine hits both alike. Prints, per row,
// each table's median time and the median (and quartiles) of the per-round
// ratios new / base: < 1 means the new kernels are faster.
//
//   ab_kernels [rounds] [row-filter]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gemm/gemm.h"
#include "mote_gemm.h"

namespace mote::kernels {
const IsaKernels* ab_base();
const IsaKernels* ab_new();
}  // namespace mote::kernels

namespace {

double block_ns(const mote::kernels::IsaKernels& ks, const mote::gemm::GemmProblem& p, std::vector<float>& scratch,
                int iters) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) {
    mote::gemm::run_with(ks, p, scratch.data(), scratch.size());
    bench::keep(p.c);
  }
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / iters;
}

double at(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 500;
  const char* filter = argc > 2 ? argv[2] : "";
  if (rounds < 3) {
    std::fprintf(stderr, "ab_kernels: rounds must be at least 3 (got %s)\n", argv[1]);
    return 2;
  }
  const mote::kernels::IsaKernels* sets[2] = {mote::kernels::ab_base(), mote::kernels::ab_new()};
  for (const auto* s : sets)
    if (!mote::kernels::isa_supported(*s)) {
      std::fprintf(stderr, "ab_kernels: this CPU cannot run the %s kernels\n", s->name);
      return 2;
    }
  std::printf("%-14s %12s %12s %9s %15s\n", "row", "base ns", "new ns", "new/base", "(q1 .. q3)");
  for (int batch : bench::kBatches) {
    for (int i = 0; i < bench::kNumShapes; ++i) {
      const bench::Gemm g = bench::shape(i, batch);
      char name[32];
      std::snprintf(name, sizeof name, "%s/%d", g.name, batch);
      if (*filter && std::strstr(name, filter) == nullptr) continue;
      bench::GemmBuffers buf(g);
      std::vector<float> scratch(bench::mote_scratch_floats(g));
      const mote::gemm::GemmProblem p = bench::mote_problem(g, buf);
      // Blocks of ~1 ms: long enough for the clock, short enough to alternate often.
      const double once = block_ns(*sets[0], p, scratch, 3);
      const int iters = std::max(1, static_cast<int>(1e6 / std::max(once, 1.0)));
      std::vector<double> tb, tn, ratio;
      for (int r = 0; r < rounds; ++r) {
        const double b = block_ns(*sets[0], p, scratch, iters);
        const double n = block_ns(*sets[1], p, scratch, iters);
        tb.push_back(b);
        tn.push_back(n);
        ratio.push_back(n / b);
      }
      std::printf("%-14s %12.1f %12.1f %9.3f   (%.3f .. %.3f)\n", name, at(tb, 0.5), at(tn, 0.5), at(ratio, 0.5),
                  at(ratio, 0.25), at(ratio, 0.75));
      std::fflush(stdout);
    }
  }
  return 0;
}
