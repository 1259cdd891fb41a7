// mote/model.h - a sequential model bound to the caller's arena.
//
//   constexpr auto spec = mote::reference::tied;
//   constexpr mote::PlanOptions opts{.batch = 32};
//   alignas(64) static std::byte arena[mote::arena_bytes(spec, opts)];
//   mote::Model model;
//   if (model.bind(spec, opts, arena, sizeof arena) != mote::Status::ok) ...;
//   model.init_glorot(42);
//   mote::ConstMatrixView y;
//   model.forward(x, &y);            // x: [rows <= batch][784]
//
// bind() validates everything once; after it, forward/backward only trust
// their inputs' shapes (checked cheaply) and never touch the heap.
// A DenseTranspose layer holds a pointer to its partner's kernel and reads it
// transposed in place: there is one copy of that matrix, and its gradient is
// the sum of both uses.
#pragma once
#include <cstddef>

#include "mote/spec.h"
#include "mote/status.h"
#include "mote/tensor.h"

namespace mote {

struct BoundLayer {
  LayerSpec spec{};
  const float* kernel = nullptr;  // own (Dense) or partner's (DenseTranspose); [in][out] of the owner
  float* kernel_rw = nullptr;     // own kernel when it lives in the arena
  const float* bias = nullptr;
  float* bias_rw = nullptr;
  float* dkernel = nullptr;       // gradient of the kernel this layer reads, if trainable
  float* dbias = nullptr;
  float* out = nullptr;           // [batch][out]
  bool needs_backward = false;
  bool needs_dx = false;
};

class Model {
 public:
  // external: the canonical parameter blob for parameters not in the arena
  // (PlanOptions::external_weights), e.g. a const array in flash.
  Status bind(const ModelSpec& spec, const PlanOptions& opts, void* arena, std::size_t arena_size,
              const float* external = nullptr, std::size_t external_floats = 0);

  // Glorot-uniform kernels and zero biases, for every arena-resident parameter.
  void init_glorot(uint64_t seed);
  // Canonical order (see spec.h). set_params copies the arena-resident ones.
  Status set_params(const float* canonical, std::size_t n);
  Status get_params(float* canonical, std::size_t n) const;

  // Runs all layers; *y views the last layer's output in the arena.
  Status forward(ConstMatrixView x, ConstMatrixView* y);
  // Runs layers [0, upto): e.g. the encoder half. *y views layer upto-1's output.
  Status forward_partial(ConstMatrixView x, int upto, ConstMatrixView* y);

  // Training forward pass with the binary cross-entropy fused into the last
  // layer's store step (its activation must be sigmoid; t: [rows][output]).
  // *loss_sum gets the BCE summed over all elements (Keras' clip, as
  // loss_forward_backward), and the output buffer gets dz = d(mean loss)/d(
  // pre-activation) instead of the output, ready for backward(x, dz).
  Status forward_bce(ConstMatrixView x, ConstMatrixView t, double* loss_sum);

  // Backward pass after forward(x): `dz` is the gradient of the loss with
  // respect to the last layer's pre-activation, [rows][output] (it may alias
  // the output buffer). Gradients of all trainable parameters are written
  // (zeroed first), the bias of the last layer included.
  Status backward(ConstMatrixView x, ConstMatrixView dz);

  // backward() with plain SGD fused into it (train_step's path for
  // Optimizer::sgd): every trainable parameter p becomes p - lr * dL/dp, bit
  // for bit what backward() then the SGD update over grads() gives, but each
  // kernel is updated right after its gradient's last block is stored (in
  // L1) instead of in passes over the gradient block. If any gradient is
  // NaN/inf, every parameter is left as it was and Status::non_finite is
  // returned. *weights_finite (may be null): whether every updated parameter
  // is finite. Afterwards grads() holds the biases' gradients but, where the
  // kernels' gradients were, their previous values (the undo record).
  Status backward_sgd(ConstMatrixView x, ConstMatrixView dz, float lr, bool* weights_finite);

  const ModelSpec& spec() const { return spec_; }
  const Plan& plan() const { return plan_; }
  const BoundLayer& layer(int i) const { return layers_[i]; }
  int num_layers() const { return spec_.num_layers; }
  int batch() const { return plan_.batch; }
  std::size_t param_count() const { return mote::param_count(spec_); }
  // Trainable parameters, their gradients and optimizer state: one contiguous
  // block each, same order.
  float* trainable() const { return params_; }
  float* grads() const { return grads_; }
  float* optimizer_state() const { return opt_state_; }
  std::size_t trainable_count() const { return plan_.trainable_floats; }
  std::size_t arena_used() const { return plan_.total; }
  // The output buffer of the last layer, writable (loss writes dz into it).
  MatrixView output_buffer(int rows) const;

 private:
  bool batch_fits(ConstMatrixView m, int cols) const;
  bool tied_partner_reached(int i) const;
  // backward(), and with `flags` backward_sgd's fused kernel updates (flags:
  // kernels::kUpdate*; bit i of *fused: layer i's kernel was updated).
  Status backward_pass(ConstMatrixView x, ConstMatrixView dz, float lr, unsigned* flags, unsigned* fused);

  ModelSpec spec_{};
  Plan plan_{};
  BoundLayer layers_[kMaxLayers]{};
  float* params_ = nullptr;
  float* grads_ = nullptr;
  float* opt_state_ = nullptr;
  float* delta_[2] = {nullptr, nullptr};
  float* scratch_ = nullptr;
  int rows_ = 0;  // rows of the last forward
  bool bound_ = false;
};

}  // namespace mote
