#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "gemm/gemm.h"
#include "mote/train.h"
#include "test_util.h"

using namespace mote;
using test::BoundModel;

TEST_CASE("every optimizer reports whether the updated weights are finite") {
  for (Optimizer kind : {Optimizer::sgd, Optimizer::momentum, Optimizer::nesterov, Optimizer::adam}) {
    CAPTURE(static_cast<int>(kind));
    const OptimizerConfig c{.kind = kind, .lr = 0.1f, .momentum = 0.9f};
    float w[3] = {1.0f, 1.0f, 1.0f}, state[6] = {};
    const float g[3] = {0.5f, -2.0f, 0.25f};
    CHECK(optimizer_update(c, w, g, state, 3, 1));
    float w2[3] = {1.0f, std::numeric_limits<float>::infinity(), 1.0f}, state2[6] = {};
    CHECK_FALSE(optimizer_update(c, w2, g, state2, 3, 1));
  }
}

TEST_CASE("optimizers follow Keras' update rules") {
  const float g[2] = {0.5f, -2.0f};
  SUBCASE("sgd") {
    float w[2] = {1.0f, 1.0f};
    optimizer_update({.kind = Optimizer::sgd, .lr = 0.1f}, w, g, nullptr, 2, 1);
    CHECK(w[0] == doctest::Approx(0.95f));
    CHECK(w[1] == doctest::Approx(1.2f));
  }
  SUBCASE("momentum: v = m v - lr g; w += v") {
    float w[2] = {1.0f, 1.0f}, v[2] = {0.0f, 0.0f};
    const OptimizerConfig c{.kind = Optimizer::momentum, .lr = 0.1f, .momentum = 0.9f};
    optimizer_update(c, w, g, v, 2, 1);
    optimizer_update(c, w, g, v, 2, 2);
    // v1 = -0.05, w1 = 0.95; v2 = 0.9*-0.05 - 0.05 = -0.095, w2 = 0.855
    CHECK(v[0] == doctest::Approx(-0.095f));
    CHECK(w[0] == doctest::Approx(0.855f));
  }
  SUBCASE("nesterov: w += m v - lr g") {
    float w[2] = {1.0f, 1.0f}, v[2] = {0.0f, 0.0f};
    const OptimizerConfig c{.kind = Optimizer::nesterov, .lr = 0.1f, .momentum = 0.9f};
    optimizer_update(c, w, g, v, 2, 1);
    // v1 = -0.05; w1 = 1 + 0.9*-0.05 - 0.05 = 0.905
    CHECK(w[0] == doctest::Approx(0.905f));
  }
  SUBCASE("adam: bias-corrected first step moves every weight by about lr") {
    float w[2] = {1.0f, 1.0f}, s[4] = {0, 0, 0, 0};
    const OptimizerConfig c{.kind = Optimizer::adam, .lr = 0.01f};
    optimizer_update(c, w, g, s, 2, 1);
    // m = 0.1 g, v = 0.001 g^2; alpha = lr sqrt(1-b2)/(1-b1); step = alpha m / (sqrt v + eps) ~ lr sign(g)
    CHECK(w[0] == doctest::Approx(0.99f).epsilon(1e-4));
    CHECK(w[1] == doctest::Approx(1.01f).epsilon(1e-4));
    CHECK(s[0] == doctest::Approx(0.05f));
    CHECK(s[3] == doctest::Approx(0.004f));
  }
}

namespace {
// Smooth synthetic "images" in [0,1]: low-rank so that a bottleneck can learn them.
std::vector<float> synthetic(int rows, int width, uint64_t seed) {
  const auto a = test::random_vector(static_cast<std::size_t>(rows) * 3, seed, 0.0f, 1.0f);
  const auto b = test::random_vector(static_cast<std::size_t>(width) * 3, seed + 1, 0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(rows) * width);
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < width; ++j) {
      float s = 0;
      for (int k = 0; k < 3; ++k) s += a[static_cast<std::size_t>(r) * 3 + k] * b[static_cast<std::size_t>(j) * 3 + k];
      x[static_cast<std::size_t>(r) * width + j] = s / 3.0f;
    }
  return x;
}

double run_epochs(Model& m, const std::vector<float>& x, int rows, int epochs, uint64_t seed, const OptimizerConfig& opt,
                  double* first) {
  Rng rng(seed, 7);
  std::vector<uint32_t> order(static_cast<std::size_t>(rows));
  std::vector<float> gather(epoch_gather_floats(m, false));
  int64_t step = 0;
  EpochContext ctx{.loss = Loss::binary_crossentropy, .optimizer = opt, .step = &step, .order = order.data(), .gather = gather.data()};
  double loss = 0;
  const ConstMatrixView data{x.data(), rows, m.spec().input, m.spec().input};
  for (int e = 0; e < epochs; ++e) {
    REQUIRE(train_epoch(m, data, {}, rng, ctx, &loss) == Status::ok);
    if (e == 0 && first) *first = loss;
  }
  CHECK(step == static_cast<int64_t>(epochs) * ((rows + m.batch() - 1) / m.batch()));
  return loss;
}
}  // namespace

TEST_CASE("the loss falls with every optimizer on synthetic data") {
  const ModelSpec spec = ModelSpec(20).dense(8, Activation::selu).dense(4, Activation::selu).dense_transpose(1, Activation::selu).dense_transpose(0, Activation::sigmoid);
  const auto x = synthetic(100, 20, 3);  // 100 rows, batch 16: the last batch has 4 rows
  struct Case {
    Optimizer kind;
    float lr;
  };
  for (const Case c : {Case{Optimizer::sgd, 1.0f}, Case{Optimizer::momentum, 0.1f}, Case{Optimizer::nesterov, 0.1f}, Case{Optimizer::adam, 0.01f}}) {
    CAPTURE(static_cast<int>(c.kind));
    BoundModel bm(spec, PlanOptions{.batch = 16, .optimizer = c.kind});
    bm.model.init_glorot(5);
    EvalResult before, after;
    REQUIRE(evaluate(bm.model, {x.data(), 100, 20, 20}, {}, Loss::binary_crossentropy, &before) == Status::ok);
    double first = 0;
    const double last = run_epochs(bm.model, x, 100, 30, 9, {.kind = c.kind, .lr = c.lr}, &first);
    REQUIRE(evaluate(bm.model, {x.data(), 100, 20, 20}, {}, Loss::binary_crossentropy, &after) == Status::ok);
    CHECK(last < first);
    CHECK(after.loss < before.loss - 0.01);
  }
}

TEST_CASE("training is deterministic for a seed") {
  const ModelSpec spec = ModelSpec(20).dense(6, Activation::selu).dense(20, Activation::sigmoid);
  const auto x = synthetic(64, 20, 4);
  BoundModel a(spec, PlanOptions{.batch = 8}), b(spec, PlanOptions{.batch = 8}), c(spec, PlanOptions{.batch = 8});
  a.model.init_glorot(1);
  b.model.init_glorot(1);
  c.model.init_glorot(1);
  const double la = run_epochs(a.model, x, 64, 3, 11, {.lr = 0.5f}, nullptr);
  const double lb = run_epochs(b.model, x, 64, 3, 11, {.lr = 0.5f}, nullptr);
  const double lc = run_epochs(c.model, x, 64, 3, 12, {.lr = 0.5f}, nullptr);
  CHECK(la == lb);
  CHECK(la != lc);  // another epoch order
}

TEST_CASE("a step on a model that was never bound is refused") {
  Model unbound;
  float x[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  const ConstMatrixView v{x, 1, 4, 4};
  float loss = -1.0f;
  CHECK(train_step(unbound, v, v, Loss::binary_crossentropy, {}, 1, &loss) == Status::invalid_argument);
  CHECK(train_step(unbound, v, v, Loss::mse, {}, 1, &loss) == Status::invalid_argument);
  CHECK(loss == -1.0f);
}

TEST_CASE("a non-finite loss stops the step and leaves the weights alone") {
  const ModelSpec spec = ModelSpec(4).dense(3, Activation::selu).dense(4, Activation::sigmoid);
  BoundModel bm(spec, PlanOptions{.batch = 2});
  bm.model.init_glorot(2);
  std::vector<float> x = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, std::numeric_limits<float>::quiet_NaN(), 0.1f, 0.2f};
  std::vector<float> before(param_count(spec)), after(param_count(spec));
  bm.model.get_params(before.data(), before.size());
  float loss = 0;
  CHECK(train_step(bm.model, {x.data(), 2, 4, 4}, {x.data(), 2, 4, 4}, Loss::binary_crossentropy, {.lr = 0.1f}, 1, &loss) == Status::non_finite);
  bm.model.get_params(after.data(), after.size());
  CHECK(before == after);
}

TEST_CASE("training setup is checked once, up front") {
  const ModelSpec selu_out = ModelSpec(4).dense(4, Activation::selu);
  BoundModel bm(selu_out, PlanOptions{.batch = 2});
  CHECK(check_training_setup(bm.model, Loss::binary_crossentropy, {}) == Status::invalid_model);  // BCE needs a sigmoid
  CHECK(check_training_setup(bm.model, Loss::mse, {}) == Status::ok);
  CHECK(check_training_setup(bm.model, Loss::mse, {.kind = Optimizer::adam}) == Status::invalid_argument);  // no state planned
  CHECK(check_training_setup(bm.model, Loss::mse, {.lr = -1.0f}) == Status::invalid_argument);
  BoundModel infer(selu_out, PlanOptions{.batch = 2, .train = Trainable::none});
  CHECK(check_training_setup(infer.model, Loss::mse, {}) == Status::invalid_argument);
}

TEST_CASE("rounded accuracy counts elements whose rounding agrees") {
  const float y[4] = {0.2f, 0.7f, 0.49f, 0.51f};
  const float t[4] = {0.0f, 1.0f, 1.0f, 0.0f};
  CHECK(rounded_matches({y, 2, 2, 2}, {t, 2, 2, 2}) == 2);
  // Against std::round over the edges of the [0, 1.5) shortcut and outside it.
  const float v[] = {-2.5f, -0.5f, -0.49999997f, -0.0f, 0.0f, 0.49999997f, 0.5f, 0.50000006f, 1.0f,
                     1.4999999f, 1.5f, 2.49f, 2.5f, 1e30f};
  constexpr int n = static_cast<int>(sizeof v / sizeof v[0]);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const std::size_t want = std::round(v[i]) == std::round(v[j]) ? 1 : 0;
      CHECK_MESSAGE(rounded_matches({&v[i], 1, 1, 1}, {&v[j], 1, 1, 1}) == want, v[i], " vs ", v[j]);
    }
}

namespace {
// Two epochs (or a resumed second one) on byte rows or on their floats.
struct EpochRun {
  std::vector<double> losses;
  std::vector<float> params;
};

// Trains `epochs` epochs from init_glorot(5); with `stop_at` > 0 the last
// epoch stops after that many steps and resumes from its cursor with the
// generator restored to the epoch's start (what a checkpoint records).
EpochRun train_rows(const ModelSpec& spec, const std::vector<uint8_t>* bytes, const std::vector<float>* floats,
                    int rows, int epochs, int64_t stop_at) {
  BoundModel bm(spec, PlanOptions{.batch = 8});
  bm.model.init_glorot(5);
  const int w = spec.input;
  Rng rng(17, 7);
  std::vector<uint32_t> order(static_cast<std::size_t>(rows));
  std::vector<float> gather(epoch_gather_floats(bm.model, false));
  int64_t step = 0;
  volatile int stop = 0;
  struct Stopper {
    int64_t at;
    volatile int* stop;
  } stopper{stop_at, &stop};
  EpochContext ctx{.loss = Loss::binary_crossentropy, .optimizer = {.lr = 0.5f}, .step = &step, .order = order.data(),
                   .gather = gather.data()};
  ctx.user = &stopper;
  ctx.progress = [](void* user, int64_t s, int64_t, double) {
    auto* st = static_cast<Stopper*>(user);
    if (s == st->at) *st->stop = 1;
  };
  EpochRun out;
  auto epoch = [&](EpochCursor* c, double* loss) {
    if (bytes) return train_epoch_from(bm.model, ByteMatrixView{bytes->data(), rows, w, w}, rng, ctx, c, loss);
    return train_epoch_from(bm.model, ConstMatrixView{floats->data(), rows, w, w}, {}, rng, ctx, c, loss);
  };
  for (int e = 0; e < epochs; ++e) {
    double loss = 0;
    EpochCursor cursor;
    if (stop_at > 0 && e == epochs - 1) {
      const uint64_t state = rng.state(), inc = rng.increment();
      stop = 0;
      ctx.stop = &stop;
      REQUIRE(epoch(&cursor, &loss) == Status::ok);
      REQUIRE(cursor.step == stop_at);
      ctx.stop = nullptr;
      rng.restore(state, inc);
    }
    REQUIRE(epoch(&cursor, &loss) == Status::ok);
    out.losses.push_back(loss);
  }
  CHECK(step == static_cast<int64_t>(epochs) * ((rows + 7) / 8));
  out.params.resize(bm.model.param_count());
  bm.model.get_params(out.params.data(), out.params.size());
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
}  // namespace

TEST_CASE("training on byte rows is bit for bit training on their floats (byte / 255.0f)") {
  const ModelSpec spec = ModelSpec(20).dense(8, Activation::selu).dense(4, Activation::selu).dense_transpose(1, Activation::selu).dense_transpose(0, Activation::sigmoid);
  const int rows = 60;  // batch 8: the last batch has 4 rows
  const auto x = synthetic(rows, 20, 3);
  std::vector<uint8_t> bytes(x.size());
  std::vector<float> floats(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    bytes[i] = static_cast<uint8_t>(std::lround(x[i] * 255.0f));
    floats[i] = static_cast<float>(bytes[i]) / 255.0f;
  }
  const EpochRun f = train_rows(spec, nullptr, &floats, rows, 2, 0);
  const EpochRun b = train_rows(spec, &bytes, nullptr, rows, 2, 0);
  REQUIRE(f.losses.size() == 2);
  CHECK(f.losses[1] < f.losses[0]);  // it trains at all
  CHECK(b.losses == f.losses);
  CHECK(same_bits(b.params, f.params));
  SUBCASE("stopped inside the second epoch and resumed from the cursor") {
    const EpochRun r = train_rows(spec, &bytes, nullptr, rows, 2, 3);
    CHECK(r.losses == f.losses);
    CHECK(same_bits(r.params, f.params));
  }
  SUBCASE("the byte rows are checked like float rows") {
    BoundModel bm(spec, PlanOptions{.batch = 8});
    std::vector<uint32_t> order(static_cast<std::size_t>(rows));
    std::vector<float> gather(epoch_gather_floats(bm.model, false));
    int64_t step = 0;
    Rng rng(1);
    double loss = 0;
    const EpochContext ctx{.step = &step, .order = order.data(), .gather = gather.data()};
    CHECK(train_epoch(bm.model, ByteMatrixView{bytes.data(), rows, 19, 20}, rng, ctx, &loss) == Status::shape_mismatch);
    CHECK(train_epoch(bm.model, ByteMatrixView{bytes.data(), 0, 20, 20}, rng, ctx, &loss) == Status::shape_mismatch);
    EpochCursor past{.step = 9};
    CHECK(train_epoch_from(bm.model, ByteMatrixView{bytes.data(), rows, 20, 20}, rng, ctx, &past, &loss) ==
          Status::invalid_argument);
  }
}

namespace {

// One step the long way: the forward pass with the loss, backward() into the
// gradient block, the finiteness check and the SGD pass over the block (what
// train_step did before the update was fused into the backward pass).
Status unfused_sgd_step(Model& m, ConstMatrixView x, ConstMatrixView t, Loss loss, float lr, bool* weights_finite) {
  const int last = m.num_layers() - 1;
  MatrixView dz = m.output_buffer(x.rows);
  double sum = 0.0;
  if (loss == Loss::binary_crossentropy) {
    REQUIRE(m.forward_bce(x, t, &sum) == Status::ok);
  } else {
    ConstMatrixView y;
    REQUIRE(m.forward(x, &y) == Status::ok);
    sum = loss_forward_backward(loss, m.layer(last).spec.act, y, t, &dz);
  }
  if (!std::isfinite(sum)) return Status::non_finite;
  REQUIRE(m.backward(x, dz) == Status::ok);
  if (!gemm::all_finite(m.grads(), m.trainable_count())) return Status::non_finite;
  *weights_finite = optimizer_update({.kind = Optimizer::sgd, .lr = lr}, m.trainable(), m.grads(), nullptr,
                                     m.trainable_count(), 1);
  return Status::ok;
}

std::vector<float> params_of(const Model& m) {
  std::vector<float> p(m.param_count());
  REQUIRE(m.get_params(p.data(), p.size()) == Status::ok);
  return p;
}

}  // namespace

TEST_CASE("plain SGD fused into the backward pass: the weights of backward() + the SGD pass, bit for bit") {
  // The tied model (W1's two gradient shares in one pass, W2's in two), the
  // stacked one, a partial batch, the MSE loss outside the fused BCE, what
  // Trainable leaves trainable, and the plain oracle (gemm::use_reference).
  struct Variant {
    ModelSpec spec;
    Trainable train;
    Loss loss;
    int batch, rows;
  };
  const ModelSpec mse_spec = ModelSpec(50).dense(20, Activation::selu).dense_transpose(0, Activation::linear);
  const Variant variants[] = {
      {reference::tied, Trainable::all, Loss::binary_crossentropy, 32, 32},
      {reference::tied, Trainable::all, Loss::binary_crossentropy, 32, 13},
      {reference::stacked, Trainable::all, Loss::binary_crossentropy, 32, 32},
      {reference::tied, Trainable::last_layer, Loss::binary_crossentropy, 8, 8},
      {reference::stacked, Trainable::biases, Loss::binary_crossentropy, 4, 3},
      {reference::tied, Trainable::all, Loss::binary_crossentropy, 1, 1},
      {mse_spec, Trainable::all, Loss::mse, 16, 16},
  };
  for (bool reference : {false, true}) {
    gemm::use_reference(reference);
    int v = 0;
    for (const Variant& var : variants) {
      CAPTURE(reference);
      CAPTURE(v++);
      const PlanOptions o{.batch = var.batch, .train = var.train};
      BoundModel fused(var.spec, o), plain(var.spec, o);
      fused.model.init_glorot(3);
      plain.model.init_glorot(3);
      for (int step = 1; step <= 3; ++step) {
        const std::vector<float> x = test::random_vector(static_cast<std::size_t>(var.rows) * var.spec.input,
                                                         100 + static_cast<uint64_t>(step), 0.0f, 1.0f);
        const ConstMatrixView xv{x.data(), var.rows, var.spec.input, var.spec.input};
        bool finite_fused = false, finite_plain = false;
        float loss = 0;
        REQUIRE(train_step(fused.model, xv, xv, var.loss, {.kind = Optimizer::sgd, .lr = 1.5f}, step, &loss,
                           &finite_fused) == Status::ok);
        REQUIRE(unfused_sgd_step(plain.model, xv, xv, var.loss, 1.5f, &finite_plain) == Status::ok);
        CHECK(finite_fused);
        CHECK(finite_plain);
        CHECK(same_bits(params_of(fused.model), params_of(plain.model)));
      }
      CHECK(params_of(fused.model) != [&] {  // the steps moved something
        BoundModel fresh(var.spec, o);
        fresh.model.init_glorot(3);
        return params_of(fresh.model);
      }());
    }
  }
  gemm::use_reference(false);
}

TEST_CASE("a gradient that overflows under a finite loss: non_finite, and the kernel updated before it is restored") {
  // x = 3e38 in one column, W0 ~ 1e-30: the hidden layer is ~1e8, the loss
  // (~1e17 per element) and the output layer's gradients are finite, and its
  // kernel is updated first (the backward pass starts there); W0's gradient,
  // x^T dh, overflows after. The step must undo the output kernel's update.
  const ModelSpec spec = ModelSpec(4).dense(3, Activation::selu).dense(2, Activation::linear);
  const PlanOptions o{.batch = 8};
  std::vector<float> params(param_count(spec), 0.5f);
  for (int i = 0; i < 12; ++i) params[static_cast<std::size_t>(i)] = 1e-30f;  // W0 [4][3] first (canonical order)
  for (int i = 12; i < 15; ++i) params[static_cast<std::size_t>(i)] = 0.0f;   // b0
  std::vector<float> x(8 * 4, 0.0f), t(8 * 2, 0.0f);
  for (int r = 0; r < 8; ++r) x[static_cast<std::size_t>(r) * 4] = 3e38f;
  const ConstMatrixView xv{x.data(), 8, 4, 4}, tv{t.data(), 8, 2, 2};

  // What the test claims: the loss and the output layer's gradients are
  // finite, W0's gradient is not (the unfused backward pass shows it).
  BoundModel probe(spec, o);
  REQUIRE(probe.model.set_params(params.data(), params.size()) == Status::ok);
  ConstMatrixView y;
  REQUIRE(probe.model.forward(xv, &y) == Status::ok);
  MatrixView dz = probe.model.output_buffer(8);
  REQUIRE(std::isfinite(loss_forward_backward(Loss::mse, Activation::linear, y, tv, &dz)));
  REQUIRE(probe.model.backward(xv, dz) == Status::ok);
  const float* g = probe.model.grads();
  const std::size_t w0 = 12, w1_at = 15;  // trainable block: W0, b0, W1, b1
  REQUIRE_FALSE(gemm::all_finite(g, w0));
  REQUIRE(gemm::all_finite(g + w1_at, probe.model.trainable_count() - w1_at));

  for (bool reference : {false, true}) {
    CAPTURE(reference);
    gemm::use_reference(reference);
    BoundModel bm(spec, o);
    REQUIRE(bm.model.set_params(params.data(), params.size()) == Status::ok);
    const std::vector<float> before = params_of(bm.model);
    float loss = 0;
    bool finite = true;
    CHECK(train_step(bm.model, xv, tv, Loss::mse, {.kind = Optimizer::sgd, .lr = 0.1f}, 1, &loss, &finite) ==
          Status::non_finite);
    CHECK(std::isfinite(loss));
    CHECK(same_bits(params_of(bm.model), before));
  }
  gemm::use_reference(false);
}

TEST_CASE("fused SGD: finite gradients but a step that overflows a weight: ok, weights_finite false, as unfused") {
  // MSE against targets of 1e6: gradients ~1e5, times lr 3e38 past FLT_MAX.
  const ModelSpec spec = ModelSpec(6).dense(5, Activation::selu).dense(6, Activation::linear);
  const PlanOptions o{.batch = 4};
  BoundModel fused(spec, o), plain(spec, o);
  fused.model.init_glorot(9);
  plain.model.init_glorot(9);
  const std::vector<float> x = test::random_vector(4 * 6, 21, 0.0f, 1.0f), t(4 * 6, 1e6f);
  const ConstMatrixView xv{x.data(), 4, 6, 6}, tv{t.data(), 4, 6, 6};
  bool finite_fused = true, finite_plain = true;
  float loss = 0;
  REQUIRE(train_step(fused.model, xv, tv, Loss::mse, {.kind = Optimizer::sgd, .lr = 3e38f}, 1, &loss,
                     &finite_fused) == Status::ok);
  REQUIRE(unfused_sgd_step(plain.model, xv, tv, Loss::mse, 3e38f, &finite_plain) == Status::ok);
  CHECK_FALSE(finite_fused);
  CHECK_FALSE(finite_plain);
  CHECK(same_bits(params_of(fused.model), params_of(plain.model)));
}
