// Training checkpoints: a model file (docs/model-format.md) with three more
// sections: the training state (TRNS), the optimizer's moments (OPTS) and the
// per-epoch history (HIST); a greedy run in its second stage adds the model of
// the first (PLYR, PPRM). `mote eval --load` reads a checkpoint as a model
// (the model of the stage in progress).
//
//   mote::io::Checkpoint c;
//   c.spec = spec; c.params = ...; c.opt_state = ...; c.state.epochs_done = 3; ...
//   mote::io::save_checkpoint("run.ckpt", c, &err);   // atomic
//   mote::io::load_checkpoint("run.ckpt", &c, &err);  // validated
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "io/error.h"
#include "mote/model_image.h"
#include "mote/spec.h"
#include "mote/train.h"

namespace mote::io {

// Where a run stands and what it needs to continue bit for bit.
inline constexpr uint32_t kTrainFixedLr = 1;  // TrainState::flags: --lr set the rate of every stage

// The stages of the schedules a checkpoint can record: "greedy" has three
// (0: AE1 784-100-784, 1: AE2 on AE1's codings 100-30-100, 2: the stacked
// sandwich fine-tuned), every other model one (stage 0).
inline constexpr int kGreedyStages = 3;
int schedule_stages(const char* model);
// The reference model greedy trains in `stage` (nullptr out of range).
const ModelSpec* greedy_stage_spec(int stage);
bool same_spec(const ModelSpec& a, const ModelSpec& b);

// Sections of a greedy checkpoint in stage 1: the first stage's model, which
// the stage's inputs are computed from (and which is stacked at the end).
inline constexpr uint32_t kTagPrevLayers = image_tag('P', 'L', 'Y', 'R');
inline constexpr uint32_t kTagPrevParams = image_tag('P', 'P', 'R', 'M');

struct TrainState {
  char model[16] = {};        // the CLI's model name ("tied", "stacked", "greedy")
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
  uint32_t flags = 0;         // kTrainFixedLr
};

struct Checkpoint {
  ModelSpec spec{};
  std::vector<float> params;     // canonical order
  std::vector<float> opt_state;  // the model's optimizer_state() block
  TrainState state{};
  std::vector<double> history;   // per completed epoch of the stage: train loss, valid loss, valid rounded accuracy
  // Greedy, stage 1 only: AE1, whose codings AE2 trains on (empty otherwise).
  ModelSpec prev_spec{};
  std::vector<float> prev_params;
};

Status save_checkpoint(const char* path, const Checkpoint& c, Error* err);
Status load_checkpoint(const char* path, Checkpoint* c, Error* err);
// load_checkpoint on bytes in memory (`path` names them in messages), for tests and fuzzing.
Status parse_checkpoint(const char* path, const unsigned char* data, std::size_t size, Checkpoint* c, Error* err);

// The training state's encoding (little-endian, fixed layout), for tests and fuzzing.
inline constexpr std::size_t kTrainStateBytes = 160;
void encode_train_state(const TrainState& s, unsigned char out[kTrainStateBytes]);
// Returns nullptr, or the name of the field that is out of range.
const char* decode_train_state(const unsigned char* in, std::size_t n, TrainState* s);

}  // namespace mote::io
