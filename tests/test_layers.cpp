#include <doctest/doctest.h>

#include <cmath>

#include "kernels/activation.h"
#include "test_util.h"

using namespace mote;
using test::BoundModel;

namespace {

// y = act(x W + b), computed in double, naively.
std::vector<double> naive_dense(const std::vector<float>& x, int rows, int in, const float* w, const float* b, int out,
                                bool transposed, Activation act) {
  std::vector<double> y(static_cast<std::size_t>(rows) * out);
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < out; ++j) {
      double s = b[j];
      for (int k = 0; k < in; ++k)
        s += static_cast<double>(x[static_cast<std::size_t>(r) * in + k]) *
             (transposed ? w[static_cast<std::size_t>(j) * in + k] : w[static_cast<std::size_t>(k) * out + j]);
      const double v = act == Activation::selu      ? (s > 0 ? kernels::kSeluLambda * s : kernels::kSeluLambdaAlpha * std::expm1(s))
                       : act == Activation::sigmoid ? 1.0 / (1.0 + std::exp(-s))
                                                    : s;
      y[static_cast<std::size_t>(r) * out + j] = v;
    }
  return y;
}

}  // namespace

TEST_CASE("forward of each layer matches a naive double computation") {
  const ModelSpec spec = ModelSpec(13).dense(7, Activation::selu).dense(5, Activation::sigmoid).dense_transpose(1, Activation::selu).dense_transpose(0, Activation::linear);
  BoundModel bm(spec, PlanOptions{.batch = 6, .train = Trainable::none});
  const auto params = test::random_vector(param_count(spec), 3);
  REQUIRE(bm.model.set_params(params.data(), params.size()) == Status::ok);
  const auto x = test::random_vector(6 * 13, 4, -2.0f, 2.0f);
  std::vector<float> in = x;
  int width = 13;
  for (int l = 0; l < spec.num_layers; ++l) {
    ConstMatrixView y;
    REQUIRE(bm.model.forward_partial(ConstMatrixView{x.data(), 6, 13, 13}, l + 1, &y) == Status::ok);
    const BoundLayer& L = bm.model.layer(l);
    const auto want = naive_dense(in, 6, width, L.kernel, L.bias, L.spec.out, L.spec.kind == LayerKind::dense_transpose, L.spec.act);
    for (int r = 0; r < 6; ++r)
      for (int j = 0; j < L.spec.out; ++j)
        CHECK(test::close(y.at(r, j), want[static_cast<std::size_t>(r) * L.spec.out + j], 1e-5, 1e-5));
    in.assign(y.data, y.data + 6 * L.spec.out);
    width = L.spec.out;
  }
}

TEST_CASE("DenseTranspose equals a Dense with the explicitly transposed kernel") {
  const ModelSpec tied = ModelSpec(9).dense(4, Activation::selu).dense_transpose(0, Activation::sigmoid);
  const ModelSpec plain = ModelSpec(9).dense(4, Activation::selu).dense(9, Activation::sigmoid);
  BoundModel t(tied, PlanOptions{.batch = 5, .train = Trainable::none});
  BoundModel p(plain, PlanOptions{.batch = 5, .train = Trainable::none});
  const auto w = test::random_vector(9 * 4, 11);
  const auto b0 = test::random_vector(4, 12);
  const auto b1 = test::random_vector(9, 13);
  std::vector<float> tp;  // tied canonical: W0, b0, b1
  tp.insert(tp.end(), w.begin(), w.end());
  tp.insert(tp.end(), b0.begin(), b0.end());
  tp.insert(tp.end(), b1.begin(), b1.end());
  std::vector<float> pp(tp.begin(), tp.begin() + 9 * 4 + 4);  // plain: W0, b0, W1 = W0^T, b1
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 9; ++j) pp.push_back(w[static_cast<std::size_t>(j) * 4 + i]);
  pp.insert(pp.end(), b1.begin(), b1.end());
  REQUIRE(t.model.set_params(tp.data(), tp.size()) == Status::ok);
  REQUIRE(p.model.set_params(pp.data(), pp.size()) == Status::ok);
  const auto x = test::random_vector(5 * 9, 14, 0.0f, 1.0f);
  ConstMatrixView yt, yp;
  REQUIRE(t.model.forward({x.data(), 5, 9, 9}, &yt) == Status::ok);
  REQUIRE(p.model.forward({x.data(), 5, 9, 9}, &yp) == Status::ok);
  for (int r = 0; r < 5; ++r)
    for (int j = 0; j < 9; ++j) CHECK(test::close(yt.at(r, j), yp.at(r, j), 1e-6, 1e-6));
}

TEST_CASE("DenseTranspose reads its partner's kernel in place") {
  const ModelSpec tied = ModelSpec(6).dense(3, Activation::linear).dense_transpose(0, Activation::linear);
  BoundModel t(tied, PlanOptions{.batch = 2});
  t.model.init_glorot(5);
  const BoundLayer& enc = t.model.layer(0);
  const BoundLayer& dec = t.model.layer(1);
  CHECK(dec.kernel == enc.kernel);     // the same memory, not a copy
  CHECK(dec.kernel_rw == nullptr);     // the decoder owns no kernel
  CHECK(t.model.param_count() == 6 * 3 + 3 + 6);
  const auto x = test::random_vector(2 * 6, 6);
  ConstMatrixView y;
  REQUIRE(t.model.forward({x.data(), 2, 6, 6}, &y) == Status::ok);
  const float before = y.at(1, 4);
  // y[1][4] = sum_k h[1][k] * W[4][k] (+ bias 0): scaling row 4 of W by 3 scales
  // the encoder's contribution too, so recompute from the hidden layer.
  enc.kernel_rw[4 * 3 + 0] += 1.0f;
  REQUIRE(t.model.forward({x.data(), 2, 6, 6}, &y) == Status::ok);
  const float after = y.at(1, 4);
  CHECK(after != before);
  ConstMatrixView h;
  REQUIRE(t.model.forward_partial({x.data(), 2, 6, 6}, 1, &h) == Status::ok);
  float want = 0;
  for (int k = 0; k < 3; ++k) want += h.at(1, k) * enc.kernel[4 * 3 + k];
  CHECK(test::close(after, want, 1e-6, 1e-6));
}

TEST_CASE("forward refuses inputs that do not match the plan") {
  BoundModel bm(reference::tied, PlanOptions{.batch = 4, .train = Trainable::none});
  std::vector<float> x(5 * 784);
  ConstMatrixView y;
  CHECK(bm.model.forward({x.data(), 5, 784, 784}, &y) == Status::shape_mismatch);  // batch 5 > 4
  CHECK(bm.model.forward({x.data(), 2, 783, 784}, &y) == Status::shape_mismatch);
  CHECK(bm.model.forward({x.data(), 0, 784, 784}, &y) == Status::shape_mismatch);
  CHECK(bm.model.forward({x.data(), 3, 784, 784}, &y) == Status::ok);  // a partial batch is fine
  CHECK(y.rows == 3);
}

TEST_CASE("bind refuses an arena that is too small, and external weights that are missing") {
  std::vector<std::byte> small(1024);
  Model m;
  CHECK(m.bind(reference::tied, PlanOptions{.batch = 1}, small.data(), small.size()) == Status::arena_too_small);
  CHECK(m.bind(reference::tied, PlanOptions{.batch = 1, .external_weights = true}, small.data(), small.size()) ==
        Status::invalid_argument);
}

TEST_CASE("external weights are read where they lie and only trainable ones are copied") {
  const auto blob = test::random_vector(param_count(reference::tied), 21);
  const PlanOptions o{.batch = 1, .train = Trainable::biases, .external_weights = true};
  BoundModel bm(reference::tied, o, blob.data(), blob.size());
  CHECK(bm.model.layer(0).kernel == bm.external.data());  // kernel 0 sits first in canonical order
  CHECK(bm.model.layer(3).kernel == bm.model.layer(0).kernel);
  REQUIRE(bm.model.set_params(blob.data(), blob.size()) == Status::ok);  // copies the biases in
  CHECK(bm.model.layer(0).bias != bm.external.data() + 784 * 100);
  CHECK(bm.model.layer(0).bias[7] == blob[784 * 100 + 7]);
  std::vector<float> back(blob.size());
  REQUIRE(bm.model.get_params(back.data(), back.size()) == Status::ok);
  CHECK(back == blob);
}
