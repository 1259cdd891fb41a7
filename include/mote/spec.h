// mote/spec.h - a model written in code, and the plan that sizes its arena.
//
//   constexpr mote::ModelSpec tied = mote::ModelSpec(784)
//       .dense(100, mote::Activation::selu)          // layer 0
//       .dense(30, mote::Activation::selu)           // layer 1
//       .dense_transpose(1, mote::Activation::selu)  // reads layer 1's kernel, transposed
//       .dense_transpose(0, mote::Activation::sigmoid);
//   constexpr mote::PlanOptions opts{.batch = 32};
//   alignas(64) static std::byte arena[mote::arena_bytes(tied, opts)];
//
// Everything here is constexpr: a firmware image can size its static arena at
// compile time, and a model read from a file gets the same exact number from
// plan() before a single byte is touched.
//
// Parameter order (the "canonical" order of files, exports and external weight
// blobs): for each layer in turn, a Dense layer's kernel [in][out] row-major
// then its bias [out]; a DenseTranspose layer's own bias [out] only.
#pragma once
#include <cstddef>
#include <cstdint>

#include "mote/arena.h"
#include "mote/status.h"

namespace mote {

inline constexpr int kMaxLayers = 8;
inline constexpr int kMaxWidth = 1 << 16;

enum class Activation : uint8_t { linear = 0, selu = 1, sigmoid = 2 };
enum class LayerKind : uint8_t { dense = 0, dense_transpose = 1 };

struct LayerSpec {
  LayerKind kind = LayerKind::dense;
  Activation act = Activation::linear;
  int8_t tie = -1;  // dense_transpose: index of the Dense layer whose kernel it reads
  int32_t in = 0;
  int32_t out = 0;
};

struct ModelSpec {
  int32_t input = 0;
  int32_t num_layers = 0;
  LayerSpec layers[kMaxLayers]{};

  constexpr ModelSpec() = default;
  constexpr explicit ModelSpec(int32_t input_width) : input(input_width) {}

  constexpr int32_t output() const { return num_layers > 0 ? layers[num_layers - 1].out : input; }

  // A Dense layer: act(x * W + b), W is [in][out].
  constexpr ModelSpec dense(int32_t out, Activation act) const {
    ModelSpec s = *this;
    if (s.num_layers >= kMaxLayers) { s.num_layers = kMaxLayers + 1; return s; }  // fails validate()
    s.layers[s.num_layers] = LayerSpec{LayerKind::dense, act, -1, output(), out};
    ++s.num_layers;
    return s;
  }
  // A DenseTranspose layer: act(x * W_p^T + b), W_p is the kernel of Dense
  // layer `partner`, read where it lies. Its shape is the partner's, mirrored.
  constexpr ModelSpec dense_transpose(int partner, Activation act) const {
    ModelSpec s = *this;
    if (s.num_layers >= kMaxLayers || partner < 0 || partner >= s.num_layers) {
      s.num_layers = kMaxLayers + 1;
      return s;
    }
    s.layers[s.num_layers] =
        LayerSpec{LayerKind::dense_transpose, act, static_cast<int8_t>(partner), output(), layers[partner].in};
    ++s.num_layers;
    return s;
  }
};

// The reference models of the seed (shared/reference/README.md).
namespace reference {
inline constexpr ModelSpec stacked = ModelSpec(784)
                                         .dense(100, Activation::selu)
                                         .dense(30, Activation::selu)
                                         .dense(100, Activation::selu)
                                         .dense(784, Activation::sigmoid);
inline constexpr ModelSpec tied = ModelSpec(784)
                                      .dense(100, Activation::selu)
                                      .dense(30, Activation::selu)
                                      .dense_transpose(1, Activation::selu)
                                      .dense_transpose(0, Activation::sigmoid);
inline constexpr ModelSpec greedy_ae1 = ModelSpec(784).dense(100, Activation::selu).dense(784, Activation::sigmoid);
inline constexpr ModelSpec greedy_ae2 = ModelSpec(100).dense(30, Activation::selu).dense(100, Activation::selu);
}  // namespace reference

constexpr Status validate(const ModelSpec& s) {
  if (s.input <= 0 || s.input > kMaxWidth) return Status::invalid_model;
  if (s.num_layers <= 0 || s.num_layers > kMaxLayers) return Status::invalid_model;
  int32_t width = s.input;
  for (int i = 0; i < s.num_layers; ++i) {
    const LayerSpec& l = s.layers[i];
    if (l.in != width || l.out <= 0 || l.out > kMaxWidth) return Status::invalid_model;
    if (static_cast<uint8_t>(l.act) > 2) return Status::invalid_model;
    if (l.kind == LayerKind::dense) {
      if (l.tie != -1) return Status::invalid_model;
    } else if (l.kind == LayerKind::dense_transpose) {
      if (l.tie < 0 || l.tie >= i) return Status::invalid_model;
      const LayerSpec& p = s.layers[l.tie];
      if (p.kind != LayerKind::dense || p.in != l.out || p.out != l.in) return Status::invalid_model;
    } else {
      return Status::invalid_model;
    }
    width = l.out;
  }
  return Status::ok;
}

constexpr std::size_t kernel_floats(const LayerSpec& l) {
  return l.kind == LayerKind::dense ? static_cast<std::size_t>(l.in) * static_cast<std::size_t>(l.out) : 0;
}
constexpr std::size_t layer_param_floats(const LayerSpec& l) { return kernel_floats(l) + static_cast<std::size_t>(l.out); }

constexpr std::size_t param_count(const ModelSpec& s) {
  std::size_t n = 0;
  for (int i = 0; i < s.num_layers && i < kMaxLayers; ++i) n += layer_param_floats(s.layers[i]);
  return n;
}

// ---------------------------------------------------------------- planning

enum class Optimizer : uint8_t { sgd = 0, momentum = 1, nesterov = 2, adam = 3 };
// What a training step updates. `none` plans for inference only.
enum class Trainable : uint8_t { none = 0, biases = 1, last_layer = 2, all = 3 };

constexpr int optimizer_slots(Optimizer o) {
  return o == Optimizer::sgd ? 0 : o == Optimizer::adam ? 2 : 1;
}

struct PlanOptions {
  int32_t batch = 1;
  Trainable train = Trainable::all;
  Optimizer optimizer = Optimizer::sgd;
  // Parameters that are not trained are read from a caller's blob in the
  // canonical order (e.g. a const array in flash) instead of the arena.
  bool external_weights = false;
};

// GEMM packing scratch. Batches up to kGemmSmallBatch take the unpacked path;
// above it the loop nest packs one KC x NC block of op(B) at a time (A is read
// in place by the microkernels), so the scratch is KC x NC floats, capped by
// the model's own dimensions: K is a width or the batch, N is a width.
// GemmBlockingLimits bounds every ISA table of src/kernels/tiles.h (a
// static_assert there checks it). MOTE_GEMM_PACKING=0 (firmware) removes the
// packed path and this scratch.
#ifndef MOTE_GEMM_PACKING
#define MOTE_GEMM_PACKING 1
#endif
inline constexpr int kGemmSmallBatch = 8;
struct GemmBlockingLimits {
  int mr = 8, nr = 48, kc = 256, mc = 128, nc = 384;
};
inline constexpr GemmBlockingLimits kGemmLimits{};

constexpr std::size_t gemm_scratch_floats(int32_t batch, int32_t max_dim) {
  if (!MOTE_GEMM_PACKING || batch <= kGemmSmallBatch) return 0;
  const int32_t kdim = batch > max_dim ? batch : max_dim;
  const int32_t kc = kdim < kGemmLimits.kc ? kdim : kGemmLimits.kc;
  const int32_t n_up = (max_dim + kGemmLimits.nr - 1) / kGemmLimits.nr * kGemmLimits.nr;
  const int32_t nc = n_up < kGemmLimits.nc ? n_up : kGemmLimits.nc;
  return static_cast<std::size_t>(kc) * static_cast<std::size_t>(nc);
}

// Where each piece of a bound model lives. Offsets are bytes from the arena's
// aligned base; kNone marks "not in the arena" (external or not needed).
inline constexpr std::size_t kNone = ~std::size_t{0};

struct LayerPlan {
  std::size_t kernel = kNone;  // Dense only: own kernel in arena
  std::size_t bias = kNone;
  std::size_t dkernel = kNone;  // gradient of own kernel (Dense only)
  std::size_t dbias = kNone;
  std::size_t out = kNone;      // activations [batch][out]
  std::size_t ext_kernel = kNone;  // float index of the kernel in the external blob
  std::size_t ext_bias = kNone;
  bool needs_backward = false;  // the backward pass reaches this layer
  bool needs_dx = false;        // ... and must pass a gradient to its input
};

struct Plan {
  Status status = Status::ok;
  int32_t batch = 0;
  Trainable train = Trainable::none;
  Optimizer optimizer = Optimizer::sgd;
  std::size_t trainable_floats = 0;   // params updated by a step (contiguous)
  std::size_t params = kNone;         // arena-resident params: trainable first
  std::size_t param_floats = 0;
  std::size_t grads = kNone;          // mirrors the trainable block
  std::size_t opt_state = kNone;      // optimizer_slots x trainable_floats
  std::size_t delta[2] = {kNone, kNone};  // backward ping-pong [batch][max in]
  std::size_t delta_floats = 0;
  std::size_t scratch = kNone;        // GEMM packing
  std::size_t scratch_floats = 0;
  std::size_t total = 0;              // exact bytes from a kAlign-aligned base
  LayerPlan layers[kMaxLayers]{};
};

namespace detail {
constexpr bool is_trainable_layer_param(const ModelSpec& s, Trainable t, int layer, bool kernel) {
  const int last = s.num_layers - 1;
  switch (t) {
    case Trainable::none: return false;
    case Trainable::all: return true;
    case Trainable::biases: return !kernel;
    case Trainable::last_layer:
      if (layer == last) return true;
      // the kernel the last layer reads is its partner's when it is tied
      return kernel && s.layers[last].kind == LayerKind::dense_transpose && s.layers[last].tie == layer;
  }
  return false;
}
}  // namespace detail

constexpr Plan plan(const ModelSpec& s, const PlanOptions& o) {
  Plan p{};
  p.status = validate(s);
  if (p.status != Status::ok) return p;
  if (o.batch <= 0 || o.batch > (1 << 20) || static_cast<uint8_t>(o.train) > 3 ||
      static_cast<uint8_t>(o.optimizer) > 3) {
    p.status = Status::invalid_argument;
    return p;
  }
  p.batch = o.batch;
  p.train = o.train;
  p.optimizer = o.optimizer;
  const bool training = o.train != Trainable::none;
  std::size_t off = 0;
  auto take = [&off](std::size_t floats) {
    std::size_t at = off;
    off += arena_round_up(floats * sizeof(float));
    return at;
  };

  // 1. Canonical positions in the external blob.
  std::size_t ext = 0;
  for (int i = 0; i < s.num_layers; ++i) {
    LayerPlan& lp = p.layers[i];
    if (s.layers[i].kind == LayerKind::dense) { lp.ext_kernel = ext; ext += kernel_floats(s.layers[i]); }
    lp.ext_bias = ext;
    ext += static_cast<std::size_t>(s.layers[i].out);
  }

  // 2. Arena-resident parameters, one contiguous block: trainable ones first
  //    (in canonical order) so that gradients and optimizer state mirror them.
  std::size_t pf = 0;
  for (int pass = 0; pass < 2; ++pass) {
    const bool want_trainable = pass == 0;
    for (int i = 0; i < s.num_layers; ++i) {
      LayerPlan& lp = p.layers[i];
      const LayerSpec& l = s.layers[i];
      for (int k = 0; k < 2; ++k) {
        const bool kernel = k == 0;
        if (kernel && l.kind != LayerKind::dense) continue;
        const bool tr = detail::is_trainable_layer_param(s, o.train, i, kernel);
        if (tr != want_trainable) continue;
        if (!tr && o.external_weights) continue;
        const std::size_t n = kernel ? kernel_floats(l) : static_cast<std::size_t>(l.out);
        (kernel ? lp.kernel : lp.bias) = pf * sizeof(float);  // relative, fixed below
        pf += n;
      }
    }
    if (pass == 0) p.trainable_floats = pf;
  }
  p.param_floats = pf;
  p.params = take(pf);
  for (int i = 0; i < s.num_layers; ++i) {
    if (p.layers[i].kernel != kNone) p.layers[i].kernel += p.params;
    if (p.layers[i].bias != kNone) p.layers[i].bias += p.params;
  }

  // 3. Gradients and optimizer state mirror the trainable block.
  if (training && p.trainable_floats > 0) {
    p.grads = take(p.trainable_floats);
    for (int i = 0; i < s.num_layers; ++i) {
      LayerPlan& lp = p.layers[i];
      if (lp.kernel != kNone && lp.kernel - p.params < p.trainable_floats * sizeof(float))
        lp.dkernel = p.grads + (lp.kernel - p.params);
      if (lp.bias != kNone && lp.bias - p.params < p.trainable_floats * sizeof(float))
        lp.dbias = p.grads + (lp.bias - p.params);
    }
    const int slots = optimizer_slots(o.optimizer);
    if (slots > 0) p.opt_state = take(static_cast<std::size_t>(slots) * p.trainable_floats);
  }

  // 4. Which layers the backward pass must reach: down to the first layer
  //    that uses a trainable parameter (its own bias, own or partner kernel).
  int first = s.num_layers;
  if (training) {
    for (int i = 0; i < s.num_layers; ++i) {
      const LayerSpec& l = s.layers[i];
      const int kowner = l.kind == LayerKind::dense ? i : l.tie;
      if (p.layers[i].dbias != kNone || p.layers[kowner].dkernel != kNone) { first = i; break; }
    }
  }
  for (int i = 0; i < s.num_layers; ++i) {
    p.layers[i].needs_backward = i >= first;
    p.layers[i].needs_dx = i > first;
  }

  // 5. Activations. Training keeps every layer's output (the backward pass
  //    reads them); inference ping-pongs between two buffers, sized by the
  //    widest even and the widest odd layer.
  const std::size_t b = static_cast<std::size_t>(o.batch);
  int32_t max_dim = s.input;
  for (int i = 0; i < s.num_layers; ++i) max_dim = s.layers[i].out > max_dim ? s.layers[i].out : max_dim;
  if (training) {
    for (int i = 0; i < s.num_layers; ++i) p.layers[i].out = take(b * static_cast<std::size_t>(s.layers[i].out));
    int32_t dmax = 0;
    for (int i = 0; i < s.num_layers; ++i)
      if (p.layers[i].needs_dx && s.layers[i].in > dmax) dmax = s.layers[i].in;
    p.delta_floats = b * static_cast<std::size_t>(dmax);
    if (dmax > 0) { p.delta[0] = take(p.delta_floats); p.delta[1] = take(p.delta_floats); }
  } else {
    int32_t w[2] = {0, 0};
    for (int i = 0; i < s.num_layers; ++i) w[i & 1] = s.layers[i].out > w[i & 1] ? s.layers[i].out : w[i & 1];
    const std::size_t buf0 = take(b * static_cast<std::size_t>(w[0]));
    const std::size_t buf1 = w[1] > 0 ? take(b * static_cast<std::size_t>(w[1])) : kNone;
    for (int i = 0; i < s.num_layers; ++i) p.layers[i].out = (i & 1) ? buf1 : buf0;
  }

  // 6. GEMM packing scratch.
  p.scratch_floats = gemm_scratch_floats(o.batch, max_dim);
  if (p.scratch_floats > 0) p.scratch = take(p.scratch_floats);

  p.total = off;
  return p;
}

// Exact bytes an arena must hold (from a 64-byte aligned start) for `s` bound
// with `o`; 0 when the spec or options are invalid.
constexpr std::size_t arena_bytes(const ModelSpec& s, const PlanOptions& o) {
  const Plan p = plan(s, o);
  return p.status == Status::ok ? p.total : 0;
}

}  // namespace mote
