// Every backward pass against central finite differences of the loss.
//
// Tolerance: the loss is a float computation summed in double; a central
// difference with step h has a rounding error of about eps_f * |L| / h
// (1.2e-7 * ~0.7 / 1e-3 ~ 1e-4 absolute on the mean loss derivative) plus a
// truncation error O(h^2 * L''') far below that, so we accept
// |analytic - numeric| <= 3e-4 + 3e-2 * |analytic|. SELU's kink at 0 is the
// one place where a difference quotient is not a derivative: the fixed seeds
// below are advanced until every SELU output keeps 10x the step from it.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "mote/train.h"
#include "test_util.h"

using namespace mote;
using test::BoundModel;

namespace {

constexpr int kRows = 4;

double mean_loss(Model& m, const std::vector<float>& x, const std::vector<float>& t, Loss loss) {
  ConstMatrixView y;
  const int in = m.spec().input, out = m.spec().output();
  REQUIRE(m.forward({x.data(), kRows, in, in}, &y) == Status::ok);
  return loss_forward_backward(loss, m.layer(m.num_layers() - 1).spec.act, y, {t.data(), kRows, out, out}, nullptr) /
         (static_cast<double>(kRows) * out);
}

// Analytic gradient of the trainable block after one backward pass.
std::vector<float> analytic(Model& m, const std::vector<float>& x, const std::vector<float>& t, Loss loss) {
  const int in = m.spec().input, out = m.spec().output();
  ConstMatrixView y;
  REQUIRE(m.forward({x.data(), kRows, in, in}, &y) == Status::ok);
  MatrixView dz = m.output_buffer(kRows);
  loss_forward_backward(loss, m.layer(m.num_layers() - 1).spec.act, y, {t.data(), kRows, out, out}, &dz);
  REQUIRE(m.backward({x.data(), kRows, in, in}, dz) == Status::ok);
  return std::vector<float>(m.grads(), m.grads() + m.trainable_count());
}

// Smallest |y| over the outputs of SELU layers: a difference quotient is only
// a derivative where no pre-activation lies within the step of SELU's kink.
float selu_margin(Model& m, const std::vector<float>& x) {
  float margin = 1e30f;
  const int in = m.spec().input;
  for (int l = 0; l < m.num_layers(); ++l) {
    if (m.layer(l).spec.act != Activation::selu) continue;
    ConstMatrixView y;
    REQUIRE(m.forward_partial({x.data(), kRows, in, in}, l + 1, &y) == Status::ok);
    for (int r = 0; r < y.rows; ++r)
      for (int j = 0; j < y.cols; ++j) margin = std::fmin(margin, std::fabs(y.at(r, j)));
  }
  return margin;
}

// Inputs for the check: the first seed from `seed` on whose SELU outputs all
// keep a margin of 1e-2 from the kink (10x the step).
std::vector<float> inputs_away_from_kinks(Model& m, uint64_t seed, float lo, float hi) {
  const std::size_t n = static_cast<std::size_t>(kRows) * m.spec().input;
  for (uint64_t s = seed; s < seed + 200; ++s) {
    auto x = test::random_vector(n, s, lo, hi);
    if (selu_margin(m, x) > 1e-2f) return x;
  }
  FAIL("no input seed keeps SELU pre-activations away from 0");
  return {};
}

void check_against_finite_differences(Model& m, const std::vector<float>& x, const std::vector<float>& t, Loss loss) {
  REQUIRE(selu_margin(m, x) > 1e-2f);
  const std::vector<float> g = analytic(m, x, t, loss);
  float* w = m.trainable();
  const float h = 1e-3f;
  int bad = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    const float keep = w[i];
    w[i] = keep + h;
    const double up = mean_loss(m, x, t, loss);
    w[i] = keep - h;
    const double down = mean_loss(m, x, t, loss);
    w[i] = keep;
    const double numeric = (up - down) / (2.0 * static_cast<double>(h));
    if (!test::close(g[i], numeric, 3e-4, 3e-2)) {
      if (++bad <= 5) std::printf("  param %zu: analytic %.6g, numeric %.6g\n", i, static_cast<double>(g[i]), numeric);
    }
  }
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("gradients: Dense SELU/sigmoid/linear layers with binary cross-entropy") {
  const ModelSpec spec = ModelSpec(6).dense(5, Activation::selu).dense(4, Activation::linear).dense(6, Activation::sigmoid);
  BoundModel bm(spec, PlanOptions{.batch = kRows});
  bm.model.init_glorot(7);
  // non-zero biases so that every path is exercised
  const auto b = test::random_vector(param_count(spec), 8, -0.3f, 0.3f);
  std::vector<float> p(param_count(spec));
  bm.model.get_params(p.data(), p.size());
  for (std::size_t i = 0; i < p.size(); ++i) p[i] += b[i] * 0.1f;
  bm.model.set_params(p.data(), p.size());
  const auto x = inputs_away_from_kinks(bm.model, 9, 0.0f, 1.0f);
  check_against_finite_differences(bm.model, x, x, Loss::binary_crossentropy);
}

TEST_CASE("gradients: tied autoencoder (DenseTranspose SELU and sigmoid)") {
  const ModelSpec spec =
      ModelSpec(8).dense(5, Activation::selu).dense(3, Activation::selu).dense_transpose(1, Activation::selu).dense_transpose(0, Activation::sigmoid);
  BoundModel bm(spec, PlanOptions{.batch = kRows});
  bm.model.init_glorot(17);
  const auto x = inputs_away_from_kinks(bm.model, 18, 0.0f, 1.0f);
  check_against_finite_differences(bm.model, x, x, Loss::binary_crossentropy);
}

TEST_CASE("gradients: MSE with a SELU output (the greedy AE2 stage)") {
  const ModelSpec spec = ModelSpec(6).dense(3, Activation::selu).dense(6, Activation::selu);
  BoundModel bm(spec, PlanOptions{.batch = kRows});
  bm.model.init_glorot(27);
  const auto x = inputs_away_from_kinks(bm.model, 28, -1.0f, 2.0f);
  check_against_finite_differences(bm.model, x, x, Loss::mse);
}

TEST_CASE("gradients: the tied kernel's gradient is the sum of both uses") {
  const ModelSpec tied = ModelSpec(7).dense(4, Activation::selu).dense_transpose(0, Activation::sigmoid);
  const ModelSpec plain = ModelSpec(7).dense(4, Activation::selu).dense(7, Activation::sigmoid);
  BoundModel t(tied, PlanOptions{.batch = kRows});
  BoundModel p(plain, PlanOptions{.batch = kRows});
  t.model.init_glorot(37);
  std::vector<float> tp(param_count(tied));
  t.model.get_params(tp.data(), tp.size());
  const auto b1 = test::random_vector(7, 38, -0.2f, 0.2f);
  for (int j = 0; j < 7; ++j) tp[7 * 4 + 4 + j] = b1[j];
  t.model.set_params(tp.data(), tp.size());
  std::vector<float> pp(tp.begin(), tp.begin() + 7 * 4 + 4);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 7; ++j) pp.push_back(tp[static_cast<std::size_t>(j) * 4 + i]);
  pp.insert(pp.end(), b1.begin(), b1.end());
  p.model.set_params(pp.data(), pp.size());
  const auto x = test::random_vector(kRows * 7, 39, 0.0f, 1.0f);
  const auto gt = analytic(t.model, x, x, Loss::binary_crossentropy);
  const auto gp = analytic(p.model, x, x, Loss::binary_crossentropy);
  // tied canonical: W0 [7][4], b0 [4], b1 [7]; plain: W0, b0, W1 [4][7], b1
  for (int r = 0; r < 7; ++r)
    for (int c = 0; c < 4; ++c) {
      const float enc_use = gp[static_cast<std::size_t>(r) * 4 + c];
      const float dec_use = gp[7 * 4 + 4 + static_cast<std::size_t>(c) * 7 + r];
      CHECK(test::close(gt[static_cast<std::size_t>(r) * 4 + c], enc_use + dec_use, 1e-7, 1e-5));
    }
  for (int j = 0; j < 4; ++j) CHECK(test::close(gt[28 + j], gp[28 + j], 1e-7, 1e-5));
  for (int j = 0; j < 7; ++j) CHECK(test::close(gt[32 + j], gp[28 + 4 + 28 + j], 1e-7, 1e-5));
}

TEST_CASE("gradients: bias-only and last-layer fine-tuning with weights outside the arena") {
  const ModelSpec spec =
      ModelSpec(8).dense(5, Activation::selu).dense(3, Activation::selu).dense_transpose(1, Activation::selu).dense_transpose(0, Activation::sigmoid);
  BoundModel full(spec, PlanOptions{.batch = kRows});
  full.model.init_glorot(47);
  std::vector<float> blob(param_count(spec));
  full.model.get_params(blob.data(), blob.size());
  const auto x = inputs_away_from_kinks(full.model, 48, 0.0f, 1.0f);
  const auto g_all = analytic(full.model, x, x, Loss::binary_crossentropy);  // canonical order

  BoundModel biases(spec, PlanOptions{.batch = kRows, .train = Trainable::biases, .external_weights = true}, blob.data(), blob.size());
  biases.model.set_params(blob.data(), blob.size());
  const auto g_b = analytic(biases.model, x, x, Loss::binary_crossentropy);
  // canonical: W0 40, b0 5, W1 15, b1 3, b2 5, b3 8 -> biases at 40..44, 60..62, 63..67, 68..75
  std::vector<float> want;
  for (std::size_t i : {40, 41, 42, 43, 44}) want.push_back(g_all[i]);
  for (std::size_t i = 60; i < 76; ++i) want.push_back(g_all[i]);
  REQUIRE(g_b.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(test::close(g_b[i], want[i], 1e-7, 1e-5));
  check_against_finite_differences(biases.model, x, x, Loss::binary_crossentropy);

  BoundModel last(spec, PlanOptions{.batch = kRows, .train = Trainable::last_layer, .external_weights = true}, blob.data(), blob.size());
  last.model.set_params(blob.data(), blob.size());
  const auto g_l = analytic(last.model, x, x, Loss::binary_crossentropy);
  REQUIRE(g_l.size() == 40 + 8);  // the shared kernel W0 and the last bias
  for (std::size_t i = 0; i < 40; ++i) CHECK(test::close(g_l[i], g_all[i], 1e-7, 1e-5));
  for (std::size_t i = 0; i < 8; ++i) CHECK(test::close(g_l[40 + i], g_all[68 + i], 1e-7, 1e-5));
}

TEST_CASE("loss: Keras clipping of binary cross-entropy") {
  const float y[4] = {0.0f, 1.0f, 0.5f, 0.25f};
  const float t[4] = {1.0f, 0.0f, 0.5f, 0.0f};
  float dz[4];
  MatrixView d{dz, 1, 4, 4};
  const double sum = loss_forward_backward(Loss::binary_crossentropy, Activation::sigmoid, {y, 1, 4, 4}, {t, 1, 4, 4}, &d);
  // y=0,t=1 and y=1,t=0 are clipped to 1e-7 and 1 - 1e-7 (in float); the others are exact.
  const double lo = -std::log(static_cast<double>(kBceEpsilon));
  const double hi = -std::log(1.0 - static_cast<double>(1.0f - kBceEpsilon));
  CHECK(test::close(sum, lo + hi + std::log(2.0) - std::log(0.75), 1e-4, 1e-5));
  CHECK(dz[0] == 0.0f);  // clipped: no gradient
  CHECK(dz[1] == 0.0f);
  CHECK(dz[2] == 0.0f);  // p == t
  CHECK(test::close(dz[3], 0.25 / 4, 1e-7, 1e-6));
}
