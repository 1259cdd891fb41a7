// Training checkpoints: a model file (docs/model-format.md) with three more
// sections: the training state (TRNS), the optimizer's moments (OPTS) and the
// per-epoch history (HIST). `mote eval --load` reads a checkpoint as a model.
//
//   mote::io::Checkpoint c;
//   c.spec = spec; c.params = ...; c.opt_state = ...; c.state.epochs_done = 3; ...
//   mote::io::save_checkpoint("run.ckpt", c, &err);   // atomic
//   mote::io::load_checkpoint("run.ckpt", &c, &err);  // validated
#pragma once
#include <cstdint>
#include <vector>

#include "io/error.h"
#include "mote/spec.h"
#include "mote/train.h"

namespace mote::io {

// Where a run stands and what it needs to continue bit for bit.
struct TrainState {
  char model[16] = {};        // the CLI's model name ("tied", "stacked")
  uint64_t seed = 0;
  int32_t batch = 0;
  int32_t limit = 0;          // --limit of the run (0 = all)
  Loss loss = Loss::binary_crossentropy;
  OptimizerConfig optimizer{};
  int32_t stage = 0;          // stage of a multi-stage schedule (0 for one stage)
  int32_t epochs_done = 0;    // completed epochs of the stage
  int64_t step_in_epoch = 0;  // steps done in epoch epochs_done + 1 (0 at an epoch boundary)
  int64_t global_step = 0;    // the optimizer's step counter
  uint64_t rng_state = 0;     // the shuffle RNG at the start of epoch epochs_done + 1
  uint64_t rng_inc = 0;
  double loss_sum = 0;        // that epoch's loss sum and rows so far
  int64_t rows_seen = 0;
};

struct Checkpoint {
  ModelSpec spec{};
  std::vector<float> params;     // canonical order
  std::vector<float> opt_state;  // the model's optimizer_state() block
  TrainState state{};
  std::vector<double> history;   // per completed epoch: train loss, valid loss, valid rounded accuracy
};

Status save_checkpoint(const char* path, const Checkpoint& c, Error* err);
Status load_checkpoint(const char* path, Checkpoint* c, Error* err);

// The training state's encoding (little-endian, fixed layout), for tests and fuzzing.
inline constexpr std::size_t kTrainStateBytes = 160;
void encode_train_state(const TrainState& s, unsigned char out[kTrainStateBytes]);
// Returns nullptr, or the name of the field that is out of range.
const char* decode_train_state(const unsigned char* in, std::size_t n, TrainState* s);

}  // namespace mote::io
