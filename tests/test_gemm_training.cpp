// A short training run of the tied model with the SIMD kernels against the
// same run on the plain oracle (gemm::use_reference): the loss of every step
// and the final weights must agree within a tolerance derived from the
// arithmetic (below). Synthetic images: no dataset needed.
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "gemm/gemm.h"
#include "mote/model.h"
#include "mote/spec.h"
#include "mote/train.h"

namespace {

constexpr int kBatch = 32;
constexpr int kImages = 512;
constexpr int kSteps = kImages / kBatch * 2;  // two passes

// Smooth blobs in [0, 1], like the digits' strokes: deterministic.
std::vector<float> images() {
  std::vector<float> x(static_cast<std::size_t>(kImages) * 784);
  for (int i = 0; i < kImages; ++i) {
    const double cx = 8 + (i * 7) % 12, cy = 8 + (i * 13) % 12, r = 3 + (i % 5);
    for (int p = 0; p < 784; ++p) {
      const double dx = p % 28 - cx, dy = p / 28 - cy;
      x[static_cast<std::size_t>(i) * 784 + p] = static_cast<float>(std::exp(-(dx * dx + dy * dy) / (2 * r * r)));
    }
  }
  return x;
}

struct Run {
  std::vector<float> losses;
  std::vector<float> params;
};

Run train(bool reference) {
  mote::gemm::use_reference(reference);
  const mote::PlanOptions o{.batch = kBatch};
  const std::size_t bytes = mote::arena_bytes(mote::reference::tied, o);
  std::vector<std::byte> arena(bytes + mote::kAlign);
  mote::Model m;
  REQUIRE(m.bind(mote::reference::tied, o, arena.data(), arena.size()) == mote::Status::ok);
  m.init_glorot(42);
  const std::vector<float> x = images();
  const mote::OptimizerConfig sgd{.kind = mote::Optimizer::sgd, .lr = 1.5f};
  Run run;
  for (int s = 0; s < kSteps; ++s) {
    const int r0 = (s * kBatch) % kImages;
    const mote::ConstMatrixView xb{x.data() + static_cast<std::size_t>(r0) * 784, kBatch, 784, 784};
    float loss = 0;
    REQUIRE(mote::train_step(m, xb, xb, mote::Loss::binary_crossentropy, sgd, s + 1, &loss) == mote::Status::ok);
    run.losses.push_back(loss);
  }
  run.params.resize(m.param_count());
  REQUIRE(m.get_params(run.params.data(), run.params.size()) == mote::Status::ok);
  mote::gemm::use_reference(false);
  return run;
}

}  // namespace

// Tolerance. Every GEMM of a step is within eps = 2 (k + 2) u of the oracle
// relative to sum |a b| (test_gemm.cpp), k <= 784, u = 2^-24: eps ~ 9.4e-5,
// and the vector exp / log / sigmoid add <= 3 ulp (~ 2e-7, negligible). To
// first order these relative perturbations of the logits, gradients and
// updates add up over the steps (two short passes at lr 1.5 stay in the
// smooth, loss-decreasing regime where errors are not amplified), so after s
// steps the loss differs by at most s * eps * loss and a weight by
// s * eps * (its largest update lr * |g| <= its size). With s = 32 this is
// ~3e-3 relative; the check uses that bound, not the (far smaller) observed one.
TEST_CASE("training: SIMD kernels vs the reference oracle, 32 steps of the tied model") {
  const Run ref = train(true);
  const Run simd = train(false);
  MESSAGE("kernels ", std::string(mote::gemm::active_isa()), ": loss ", ref.losses.front(), " -> ", ref.losses.back(),
          " (reference), ", simd.losses.back(), " (simd)");
  const double eps = 2.0 * (784 + 2) * (FLT_EPSILON / 2);
  double worst_loss = 0, worst_param = 0;
  for (int s = 0; s < kSteps; ++s) {
    const double tol = (s + 1) * eps * ref.losses[s] + 1e-6;
    const double d = std::fabs(static_cast<double>(simd.losses[s]) - ref.losses[s]);
    worst_loss = d / tol > worst_loss ? d / tol : worst_loss;
    CHECK_MESSAGE(d <= tol, "step ", s, ": ", simd.losses[s], " vs ", ref.losses[s]);
  }
  double max_param = 0;
  for (float p : ref.params) {  // (a plain loop: GCC 12 aarch64 ICEs vectorizing an fmax reduction here)
    const double a = std::fabs(static_cast<double>(p));
    if (a > max_param) max_param = a;
  }
  const double ptol = kSteps * eps * max_param;
  for (std::size_t i = 0; i < ref.params.size(); ++i) {
    const double d = std::fabs(static_cast<double>(simd.params[i]) - ref.params[i]);
    worst_param = d / ptol > worst_param ? d / ptol : worst_param;
    if (!(d <= ptol)) {
      CHECK_MESSAGE(d <= ptol, "param ", i, ": ", simd.params[i], " vs ", ref.params[i]);
      break;
    }
  }
  MESSAGE("largest discrepancy / tolerance: loss ", worst_loss, ", parameters ", worst_param);
  CHECK(ref.losses.back() < ref.losses.front());
}
