// The reference models' sizes are pinned at compile time: a change that grows
// an arena or a parameter count shows up here.
#include <doctest/doctest.h>

#include "mote/spec.h"

using namespace mote;

static_assert(param_count(reference::stacked) == 163814);
static_assert(param_count(reference::tied) == 82414);
static_assert(param_count(reference::greedy_ae1) == 157684);
static_assert(param_count(reference::greedy_ae2) == 6130);
static_assert(validate(reference::stacked) == Status::ok);
static_assert(validate(reference::tied) == Status::ok);

// Training arenas at batch 32, plain SGD, pinned. Tied, for instance:
//   params 82,414 floats (329,664 B) + gradients (329,664 B)
//   + activations 32 x (100 + 30 + 100 + 784) floats (129,792 B)
//   + two deltas of 32 x 100 floats (25,600 B)
//   + GEMM packing scratch KC x NC = 256 x 384 floats (393,216 B) = 1,207,936 B.
// A change here is a change of the memory plan: update the pin on purpose.
static_assert(arena_bytes(reference::tied, PlanOptions{.batch = 32}) == 1207936);
static_assert(arena_bytes(reference::stacked, PlanOptions{.batch = 32}) == 1859200);
static_assert(arena_bytes(reference::greedy_ae1, PlanOptions{.batch = 32}) == 1793536);
static_assert(arena_bytes(reference::greedy_ae2, PlanOptions{.batch = 32}) == 131072);
// Inference at batch 1 with the weights in flash: two activation buffers only.
static_assert(arena_bytes(reference::tied, PlanOptions{.batch = 1, .train = Trainable::none, .external_weights = true}) == 3584);

// The tied decoder owns only its biases: 100 + 784 beyond the encoder.
static_assert(param_count(reference::tied) - param_count(ModelSpec(784).dense(100, Activation::selu).dense(30, Activation::selu)) == 884);

TEST_CASE("validate refuses broken layer tables") {
  CHECK(validate(ModelSpec(784)) == Status::invalid_model);  // no layers
  CHECK(validate(ModelSpec(0).dense(3, Activation::selu)) == Status::invalid_model);
  // tie to a later / missing layer
  CHECK(validate(ModelSpec(4).dense_transpose(0, Activation::selu)) == Status::invalid_model);
  ModelSpec s = ModelSpec(8).dense(4, Activation::selu).dense(2, Activation::selu).dense_transpose(1, Activation::selu);
  CHECK(validate(s) == Status::ok);
  ModelSpec bad = s;
  bad.layers[2].tie = 0;  // partner 0 is 8->4, mirrored is 4->8, but the layer is 2->4
  CHECK(validate(bad) == Status::invalid_model);
  bad = s;
  bad.layers[1].in = 5;  // chain broken
  CHECK(validate(bad) == Status::invalid_model);
  bad = s;
  bad.layers[0].tie = 1;  // a Dense layer with a tie
  CHECK(validate(bad) == Status::invalid_model);
  bad = s;
  bad.layers[1].act = static_cast<Activation>(7);
  CHECK(validate(bad) == Status::invalid_model);
  ModelSpec many(4);
  for (int i = 0; i < kMaxLayers + 1; ++i) many = many.dense(4, Activation::selu);
  CHECK(validate(many) == Status::invalid_model);
}

TEST_CASE("plan: the tied decoder trains its partner's kernel, not a copy") {
  constexpr Plan p = plan(reference::tied, PlanOptions{.batch = 32});
  static_assert(p.status == Status::ok);
  CHECK(p.trainable_floats == 82414);
  CHECK(p.layers[2].kernel == kNone);  // DenseTranspose owns no kernel
  CHECK(p.layers[3].kernel == kNone);
  CHECK(p.layers[0].dkernel != kNone);
  CHECK(p.layers[3].dkernel == kNone);  // its gradient goes to layer 0's
  CHECK(p.layers[0].needs_backward);
  CHECK_FALSE(p.layers[0].needs_dx);  // nobody below the input
  CHECK(p.layers[3].needs_dx);
}

TEST_CASE("plan: inference needs no gradients and ping-pongs activations") {
  constexpr PlanOptions infer{.batch = 1, .train = Trainable::none};
  constexpr Plan p = plan(reference::tied, infer);
  CHECK(p.grads == kNone);
  CHECK(p.layers[0].out == p.layers[2].out);
  CHECK(p.layers[1].out == p.layers[3].out);
  // with the weights outside (flash), the arena is only the two activation buffers
  constexpr PlanOptions flash{.batch = 1, .train = Trainable::none, .external_weights = true};
  constexpr std::size_t bytes = arena_bytes(reference::tied, flash);
  static_assert(bytes == arena_round_up(100 * 4) + arena_round_up(784 * 4));
  CHECK(bytes < 8 * 1024);
}

TEST_CASE("plan: bias-only fine-tuning keeps kernels in flash and trains every bias") {
  constexpr PlanOptions o{.batch = 1, .train = Trainable::biases, .external_weights = true};
  constexpr Plan p = plan(reference::tied, o);
  static_assert(p.status == Status::ok);
  CHECK(p.trainable_floats == 100 + 30 + 100 + 784);
  CHECK(p.param_floats == p.trainable_floats);
  for (int i = 0; i < 4; ++i) {
    CHECK(p.layers[i].kernel == kNone);
    CHECK(p.layers[i].dbias != kNone);
  }
  CHECK(p.delta_floats == 100);  // widest input of a layer that passes a gradient down
  CHECK(p.total < 16 * 1024);
}

TEST_CASE("plan: last-layer fine-tuning of the tied model trains the shared kernel") {
  constexpr Plan p = plan(reference::tied, PlanOptions{.batch = 1, .train = Trainable::last_layer, .external_weights = true});
  CHECK(p.trainable_floats == 784 * 100 + 784);
  CHECK(p.layers[0].dkernel != kNone);
  CHECK(p.layers[0].needs_backward);  // the kernel's gradient includes the encoder's use
  constexpr Plan s = plan(reference::stacked, PlanOptions{.batch = 1, .train = Trainable::last_layer});
  CHECK(s.trainable_floats == 100 * 784 + 784);
  CHECK_FALSE(s.layers[2].needs_backward);
}

TEST_CASE("plan refuses bad options") {
  CHECK(plan(reference::tied, PlanOptions{.batch = 0}).status == Status::invalid_argument);
  CHECK(arena_bytes(reference::tied, PlanOptions{.batch = -3}) == 0);
  CHECK(plan(ModelSpec(3), PlanOptions{}).status == Status::invalid_model);
}

TEST_CASE("optimizer state is planned per slot") {
  const std::size_t sgd = arena_bytes(reference::tied, PlanOptions{.batch = 32, .optimizer = Optimizer::sgd});
  const std::size_t mom = arena_bytes(reference::tied, PlanOptions{.batch = 32, .optimizer = Optimizer::momentum});
  const std::size_t adam = arena_bytes(reference::tied, PlanOptions{.batch = 32, .optimizer = Optimizer::adam});
  CHECK(mom - sgd == arena_round_up(82414 * 4));
  CHECK(adam - sgd == arena_round_up(2 * 82414 * 4));
}
