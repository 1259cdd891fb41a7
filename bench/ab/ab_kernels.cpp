// Same-process A/B of two builds of one kernel set (bench/ab-kernels builds
// this): the tables `ab_base` and `ab_new` run the model's GEMM rows through
// the work tree's driver (gemm::run_with), alternated block by block so that
// a neighbour's load on a shared machine hits both alike. Prints, per row,
// each table's median time and the median (and quartiles) of the per-round
// ratios new / base: < 1 means the new kernels are faster. After the plain
// rows, fwd4 as the training step runs it: bias + sigmoid in the store step
// (`fwd4+sig`) and the sigmoid + BCE against a target (`fwd4+bce`,
// gemm::run_sigmoid_bce_with).
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

// One row: the problem, and for `fwd4+bce` its targets.
struct Row {
  mote::gemm::GemmProblem p;
  const float* target = nullptr;
};

double block_ns(const mote::kernels::IsaKernels& ks, const Row& row, std::vector<float>& scratch, int iters) {
  const auto t0 = std::chrono::steady_clock::now();
  double loss = 0.0;
  for (int i = 0; i < iters; ++i) {
    if (row.target)
      loss += mote::gemm::run_sigmoid_bce_with(ks, row.p, row.target, row.p.n, 1.0f / static_cast<float>(row.p.m * row.p.n),
                                               scratch.data(), scratch.size());
    else
      mote::gemm::run_with(ks, row.p, scratch.data(), scratch.size());
    bench::keep(row.p.c);
  }
  const float kept = static_cast<float>(loss);
  bench::keep(&kept);
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
  const auto measure = [&](const char* name, const Row& row, std::vector<float>& scratch) {
    // Blocks of ~1 ms: long enough for the clock, short enough to alternate often.
    const double once = block_ns(*sets[0], row, scratch, 3);
    const int iters = std::max(1, static_cast<int>(1e6 / std::max(once, 1.0)));
    std::vector<double> tb, tn, ratio;
    for (int r = 0; r < rounds; ++r) {
      const double b = block_ns(*sets[0], row, scratch, iters);
      const double n = block_ns(*sets[1], row, scratch, iters);
      tb.push_back(b);
      tn.push_back(n);
      ratio.push_back(n / b);
    }
    std::printf("%-14s %12.1f %12.1f %9.3f   (%.3f .. %.3f)\n", name, at(tb, 0.5), at(tn, 0.5), at(ratio, 0.5),
                at(ratio, 0.25), at(ratio, 0.75));
    std::fflush(stdout);
  };
  for (int batch : bench::kBatches) {
    for (int i = 0; i < bench::kNumShapes; ++i) {
      const bench::Gemm g = bench::shape(i, batch);
      char name[32];
      std::snprintf(name, sizeof name, "%s/%d", g.name, batch);
      if (*filter && std::strstr(name, filter) == nullptr) continue;
      bench::GemmBuffers buf(g);
      std::vector<float> scratch(bench::mote_scratch_floats(g));
      measure(name, Row{bench::mote_problem(g, buf)}, scratch);
    }
  }
  for (int batch : bench::kBatches) {
    for (int i = 0; i < bench::kNumShapes; ++i) {
      const bench::Gemm g = bench::shape(i, batch);
      if (std::strcmp(g.name, "fwd4") != 0) continue;
      bench::GemmBuffers buf(g);
      std::vector<float> scratch(bench::mote_scratch_floats(g));
      // Bias in [-1, 1], targets: half the pixels 0 (background), the rest in [0, 1).
      bench::Buffer bias(static_cast<std::size_t>(g.n), -1.0f, 1.0f, 11), fill(static_cast<std::size_t>(g.m) * g.n, 0.0f, 1.0f, 12);
      std::vector<float> target(fill.data(), fill.data() + fill.n);
      for (std::size_t j = 0; j < target.size(); j += 2) target[j] = 0.0f;
      Row row{bench::mote_problem(g, buf)};
      row.p.ep.bias = bias.data();
      row.p.ep.act = mote::Activation::sigmoid;
      for (const char* kind : {"sig", "bce"}) {
        char name[32];
        std::snprintf(name, sizeof name, "fwd4+%s/%d", kind, batch);
        if (*filter && std::strstr(name, filter) == nullptr) continue;
        row.target = kind[0] == 'b' ? target.data() : nullptr;
        measure(name, row, scratch);
      }
    }
  }
  return 0;
}
