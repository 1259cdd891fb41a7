// mote/train.h - losses, optimizers, one training step, epochs.
//
//   mote::OptimizerConfig sgd{.kind = mote::Optimizer::sgd, .lr = 1.5f};
//   float loss;
//   mote::train_step(model, x, x, mote::Loss::binary_crossentropy, sgd, &loss);
//
// Losses follow Keras: binary cross-entropy clips p to [1e-7, 1 - 1e-7] and
// averages over every element of the batch; MSE averages likewise. The
// optimizers follow Keras' update rules (SGD with momentum / Nesterov as
// tf.keras.optimizers.SGD, Adam with bias correction and epsilon 1e-7).
#pragma once
#include <cstddef>
#include <cstdint>

#include "mote/model.h"
#include "mote/rng.h"

namespace mote {

enum class Loss : uint8_t { binary_crossentropy = 0, mse = 1 };

inline constexpr float kBceEpsilon = 1e-7f;

struct OptimizerConfig {
  Optimizer kind = Optimizer::sgd;
  float lr = 0.01f;
  float momentum = 0.9f;  // momentum, nesterov
  float beta1 = 0.9f;     // adam
  float beta2 = 0.999f;
  float epsilon = 1e-7f;
};

// Loss of y against t: returns the SUM over elements (divide by rows*cols
// for the mean). When dz is given, writes d(mean loss)/d(pre-activation of
// the output layer, whose activation is `out_act`); dz may alias y.
double loss_forward_backward(Loss loss, Activation out_act, ConstMatrixView y, ConstMatrixView t, MatrixView* dz);

// Rounded accuracy: the number of elements where round(t) == round(y).
std::size_t rounded_matches(ConstMatrixView y, ConstMatrixView t);

// Applies one update to the model's trainable block. `step` counts from 1.
// Returns whether every updated parameter is finite (checked in the same pass).
bool optimizer_update(const OptimizerConfig& cfg, float* params, const float* grads, float* state, std::size_t n,
                      int64_t step);

// Checks a model/loss/optimizer combination once, before training:
// BCE needs a sigmoid output, the plan's optimizer slots must match.
Status check_training_setup(const Model& model, Loss loss, const OptimizerConfig& cfg);

// forward + loss + backward + update. `*mean_loss` gets the batch's mean loss.
// Returns non_finite (and leaves the weights untouched) when the loss or a
// gradient is NaN or inf. `weights_finite`, when given, gets whether every
// trainable parameter is finite after the update (found in the update's own
// pass over the weights; an overflow there is not reported otherwise).
// With Optimizer::sgd the update is fused into the backward pass
// (Model::backward_sgd: same bits, and grads() then holds no kernel gradient).
Status train_step(Model& model, ConstMatrixView x, ConstMatrixView target, Loss loss, const OptimizerConfig& cfg,
                  int64_t step, float* mean_loss, bool* weights_finite = nullptr);

struct EvalResult {
  double loss = 0;               // mean over all elements
  double rounded_accuracy = 0;   // share of elements with round(t) == round(y)
};
// Evaluates on rows of `data` (target = data when `target` is empty), in
// batches of the model's planned batch.
Status evaluate(Model& model, ConstMatrixView data, ConstMatrixView target, Loss loss, EvalResult* out);

// One epoch of mini-batch training over `data` (autoencoder: target = input,
// or `target` rows when given), reshuffled from `rng` into `order` (caller's
// buffer, data.rows entries). `gather` holds batch * (input + target width)
// floats for the shuffled batch. `progress` is called after every step.
// The byte-row forms below read 8-bit rows (a quarter of the memory traffic
// of floats) and train on byte / 255.0f, converted into `gather` as the
// batch is gathered: bit for bit the float form on floats made that way.
struct EpochContext {
  Loss loss = Loss::binary_crossentropy;
  OptimizerConfig optimizer{};
  int64_t* step = nullptr;  // global step counter, for Adam and checkpoints
  uint32_t* order = nullptr;
  float* gather = nullptr;
  void (*progress)(void* user, int64_t step_in_epoch, int64_t steps, double running_loss) = nullptr;
  void* user = nullptr;
  // Stops the epoch after the current step when set (e.g. by a signal handler).
  volatile int* stop = nullptr;
  // After every step, check the updated weights too (train_step checks the
  // loss and the gradients): an update that made a weight NaN/inf (an
  // overflow) stops the epoch with non_finite, the step not counted in the
  // cursor; the weights are then unusable. Checked in the update's own pass
  // (train_step's weights_finite): no extra pass over the weights.
  bool check_weights = true;
};
std::size_t epoch_gather_floats(const Model& model, bool separate_target);
Status train_epoch(Model& model, ConstMatrixView data, ConstMatrixView target, Rng& rng, const EpochContext& ctx,
                   double* mean_loss);
// Autoencoder on byte rows (target = input = byte / 255; gather as for no target).
Status train_epoch(Model& model, ByteMatrixView data, Rng& rng, const EpochContext& ctx, double* mean_loss);

// Where an epoch stands: steps done, and the loss sum and rows of those steps.
struct EpochCursor {
  int64_t step = 0;
  double loss_sum = 0;
  int64_t rows = 0;
};
// train_epoch, resumable (checkpoints): `rng` must be in its state at the
// epoch's start; the order is reshuffled from it as train_epoch does, the
// first cursor->step steps are skipped, and *cursor is advanced after every
// step, before ctx.progress is called. From a fresh cursor it is train_epoch.
Status train_epoch_from(Model& model, ConstMatrixView data, ConstMatrixView target, Rng& rng, const EpochContext& ctx,
                        EpochCursor* cursor, double* mean_loss);
Status train_epoch_from(Model& model, ByteMatrixView data, Rng& rng, const EpochContext& ctx, EpochCursor* cursor,
                        double* mean_loss);

}  // namespace mote
