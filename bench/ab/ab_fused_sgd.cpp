// What fusing plain SGD into the backward pass buys, measured in one process:
// train_step (the update fused, Model::backward_sgd) against the unfused
// sequence it replaced (backward, all_finite over the gradient block, the
// SGD pass) and against the backward pass with no update at all, on the
// same tied model, alternated in blocks of 8 steps. Prints the medians of
// the per-round times and of the per-round ratio fused / unfused (< 1: the
// fused step is faster).
//
//   build-perf/bench/ab_fused_sgd [batch = 32] [rounds = 300]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "gemm/gemm.h"
#include "mote/model.h"
#include "mote/rng.h"
#include "mote/spec.h"
#include "mote/train.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int usage() {
  std::fprintf(stderr, "usage: ab_fused_sgd [batch 1..256 (default 32)] [rounds >= 1 (default 300)]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 3) return usage();
  const int batch = argc > 1 ? std::atoi(argv[1]) : 32;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 300;
  if (batch < 1 || batch > 256 || rounds < 1) return usage();
  const mote::PlanOptions o{.batch = batch};
  const std::size_t bytes = mote::arena_bytes(mote::reference::tied, o);
  std::vector<std::byte> arena(bytes + mote::kAlign);
  mote::Model m;
  if (m.bind(mote::reference::tied, o, arena.data(), arena.size()) != mote::Status::ok) {
    std::fprintf(stderr, "ab_fused_sgd: cannot bind the tied model at batch %d\n", batch);
    return 1;
  }
  m.init_glorot(42);
  std::vector<float> x(static_cast<std::size_t>(batch) * 784);
  mote::Rng rng(7, 1);
  for (float& v : x) v = rng.uniform();
  const mote::ConstMatrixView xv{x.data(), batch, 784, 784};
  const mote::OptimizerConfig sgd{.kind = mote::Optimizer::sgd, .lr = 0.01f};
  int64_t step = 0;
  bool failed = false;
  const auto fused = [&] {
    float loss = 0;
    failed |= mote::train_step(m, xv, xv, mote::Loss::binary_crossentropy, sgd, ++step, &loss) != mote::Status::ok;
  };
  const auto backward = [&] {
    double sum = 0;
    failed |= m.forward_bce(xv, xv, &sum) != mote::Status::ok;
    failed |= m.backward(xv, m.output_buffer(batch)) != mote::Status::ok;
  };
  const auto unfused = [&] {
    backward();
    failed |= !mote::gemm::all_finite(m.grads(), m.trainable_count());
    mote::optimizer_update(sgd, m.trainable(), m.grads(), nullptr, m.trainable_count(), ++step);
  };
  using Clock = std::chrono::steady_clock;
  constexpr int kBlock = 8;
  const auto time = [&](auto&& f) {
    const auto t0 = Clock::now();
    for (int i = 0; i < kBlock; ++i) f();
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / kBlock;
  };
  std::vector<double> tf, tu, tb, ratio;
  for (int r = 0; r < rounds; ++r) {
    tf.push_back(time(fused));
    tu.push_back(time(unfused));
    tb.push_back(time(backward));
    ratio.push_back(tf.back() / tu.back());
  }
  if (failed) {
    std::fprintf(stderr, "ab_fused_sgd: a step failed\n");
    return 1;
  }
  const double f = median(tf), u = median(tu), b = median(tb);
  std::printf("tied, batch %d, kernels %s, %d rounds of %d steps (medians per step)\n", batch, mote::gemm::active_isa(),
              rounds, kBlock);
  std::printf("  fused %.1f us, unfused %.1f us, backward without update %.1f us\n", f, u, b);
  std::printf("  the update: fused %.1f us, unfused %.1f us\n", f - b, u - b);
  std::printf("  fused / unfused %.4f (median of the per-round ratios)\n", median(ratio));
  return 0;
}
