// mote train: the reference schedules of shared/reference/README.md.
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/report.h"
#include "io/checkpoint.h"
#include "io/idx.h"
#include "io/model_file.h"
#include "mote/model.h"
#include "mote/platform.h"
#include "mote/train.h"

namespace mote::cli {

namespace {

constexpr FlagSpec kFlags[] = {
    {"model", true, "stacked | tied | greedy, or a comma list to compare (default tied)"},
    {"epochs", true, "epochs of every stage (default: the reference schedule)"},
    {"batch", true, "mini-batch size (default 32)"},
    {"lr", true, "learning rate of every stage (default: the reference schedule)"},
    {"optimizer", true, "sgd | momentum | nesterov | adam (default sgd)"},
    {"seed", true, "seed of the weights and the epoch order (default 42)"},
    {"limit", true, "use at most N images of each split"},
    {"data", true, "folder of the Fashion-MNIST .gz files"},
    {"save", true, "write the trained model to FILE"},
    {"report", true, "write a JSON report to FILE"},
    {"checkpoint", true, "save a checkpoint to FILE after every epoch (and on SIGINT/SIGTERM)"},
    {"checkpoint-every", true, "also save the checkpoint every N steps"},
    {"resume", true, "continue the run recorded in checkpoint FILE up to --epochs"},
    {"stop-after", true, "stop after N steps as if interrupted (tests)"},
    {"help", false, "show this help"},
};
constexpr int kNumFlags = sizeof kFlags / sizeof kFlags[0];

struct Stage {
  const char* label;
  Loss loss;
  float lr;
  int epochs;
  int index = 0;  // stage of the schedule (greedy: 0, 1, 2), recorded in checkpoints
};

struct Options {
  int64_t epochs = -1;
  int64_t batch = 32;
  double lr = -1;
  Optimizer optimizer = Optimizer::sgd;
  int64_t seed = 42;
  int64_t limit = 0;
};

// Checkpointing (stacked, tied, and greedy's three stages): --checkpoint,
// --resume, signals, the numerical guard. See docs/model-format.md, "Checkpoints".
volatile int g_stop = 0;            // set by the signal handler or --stop-after
volatile sig_atomic_t g_signal = 0; // the signal that stopped us, 0 for --stop-after

extern "C" void on_stop_signal(int sig) {
  g_signal = sig;
  g_stop = 1;
}

struct CheckpointControl {
  const char* path = nullptr;           // nullptr: no checkpoints
  const char* resume_path = nullptr;
  int64_t every = 0;                    // steps; 0: at epoch ends only
  int64_t stop_after = 0;               // steps run by this process; 0: never
  int64_t run_steps = 0;                // steps run by this process, over all stages
  const io::Checkpoint* resume = nullptr;  // until the recorded stage has resumed
  io::TrainState base{};                // model name, seed, batch, limit, flags
  // Greedy, stage 1: AE1, which every checkpoint of the stage carries.
  const ModelSpec* prev_spec = nullptr;
  const std::vector<float>* prev_params = nullptr;
  bool saved = false;                   // a checkpoint of this run exists on disk
  char last_saved[64] = "none";         // where the last good checkpoint stands
  bool interrupted = false;             // stopped before the last epoch; exit with `exit_code`
  int exit_code = 0;
};

bool all_finite(const float* p, std::size_t n) {
  float acc = 0.0f;
  for (std::size_t i = 0; i < n; ++i) acc += p[i] * 0.0f;  // NaN/inf survive *0
  return acc == 0.0f;
}

// Writes the checkpoint of `model` at a position. Returns false (after the
// message) when it cannot be written or the weights are not finite: the last
// good checkpoint stays as it was.
bool write_checkpoint(CheckpointControl* c, const Model& model, const io::TrainState& pos,
                      const std::vector<double>& history) {
  io::Checkpoint ck;
  ck.spec = model.spec();
  ck.params.resize(model.param_count());
  model.get_params(ck.params.data(), ck.params.size());
  if (!all_finite(ck.params.data(), ck.params.size())) {
    std::fprintf(stderr, "mote train: a weight became NaN/inf; not overwriting %s (last good checkpoint: %s)\n", c->path,
                 c->last_saved);
    return false;
  }
  const std::size_t nopt =
      static_cast<std::size_t>(optimizer_slots(model.plan().optimizer)) * model.trainable_count();
  if (nopt) ck.opt_state.assign(model.optimizer_state(), model.optimizer_state() + nopt);
  ck.state = pos;
  ck.history = history;
  if (c->prev_params) {
    ck.prev_spec = *c->prev_spec;
    ck.prev_params = *c->prev_params;
  }
  io::Error err;
  if (io::save_checkpoint(c->path, ck, &err) != Status::ok) {
    std::fprintf(stderr, "mote train: %s\n", err.message);
    return false;
  }
  c->saved = true;
  if (io::schedule_stages(pos.model) > 1)
    std::snprintf(c->last_saved, sizeof c->last_saved, "stage %d of %d, epoch %d, step %lld of the next",
                  pos.stage + 1, io::schedule_stages(pos.model), pos.epochs_done,
                  static_cast<long long>(pos.step_in_epoch));
  else
    std::snprintf(c->last_saved, sizeof c->last_saved, "epoch %d, step %lld of the next", pos.epochs_done,
                  static_cast<long long>(pos.step_in_epoch));
  return true;
}

// The message of a run stopped by a signal or --stop-after once its
// checkpoint is on disk; the exit code is then 128 + the signal (0 for --stop-after).
void note_stopped(CheckpointControl* ctl) {
  ctl->interrupted = true;
  ctl->exit_code = g_signal ? 128 + g_signal : kExitOk;
  std::fprintf(stderr, "mote train: %s: checkpoint %s written (%s); continue with --resume %s\n",
               g_signal ? (g_signal == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)") : "stopped",
               ctl->path, ctl->last_saved, ctl->path);
}

// Restores the recorded stage's weights and optimizer moments into `model`
// (bound for the checkpoint's model, which cmd_train checked). Returns an exit code.
int restore_stage(Model& model, const io::Checkpoint& ck, const CheckpointControl& ctl, const char* label) {
  const std::size_t nopt = static_cast<std::size_t>(optimizer_slots(model.plan().optimizer)) * model.trainable_count();
  if (ck.opt_state.size() != nopt) {
    std::fprintf(stderr, "mote train: %s: %zu optimizer values, the %s model's optimizer needs %zu\n",
                 ctl.resume_path, ck.opt_state.size(), label, nopt);
    return kExitBadInput;
  }
  model.set_params(ck.params.data(), ck.params.size());
  if (nopt) std::memcpy(model.optimizer_state(), ck.opt_state.data(), nopt * sizeof(float));
  return kExitOk;
}

OptimizerConfig make_optimizer(const Options& o, float schedule_lr) {
  OptimizerConfig c;
  c.kind = o.optimizer;
  if (o.lr >= 0) {
    c.lr = static_cast<float>(o.lr);
  } else if (o.optimizer == Optimizer::adam) {
    c.lr = 0.001f;  // Keras' default: the schedule's SGD rates diverge with Adam
  } else if (o.optimizer != Optimizer::sgd) {
    c.lr = schedule_lr * (1.0f - c.momentum);  // same step size in the steady state
  } else {
    c.lr = schedule_lr;
  }
  return c;
}

// ------------------------------------------------------------ progress

struct Progress {
  bool tty = false;
  const char* label = "";
  int epoch = 0, epochs = 0;
  uint64_t start_us = 0, last_draw_us = 0;
};

void draw_progress(void* user, int64_t step, int64_t steps, double running_loss) {
  auto* p = static_cast<Progress*>(user);
  if (!p->tty) return;
  const uint64_t now = platform::now_us();
  if (step != steps && now - p->last_draw_us < 100000) return;
  p->last_draw_us = now;
  const double elapsed = static_cast<double>(now - p->start_us) * 1e-6;
  const double eta = step > 0 ? elapsed * static_cast<double>(steps - step) / static_cast<double>(step) : 0.0;
  constexpr int kWidth = 24;
  char bar[kWidth + 1];
  const int filled = static_cast<int>(kWidth * step / (steps > 0 ? steps : 1));
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
  bar[kWidth] = '\0';
  std::fprintf(stderr, "\r%s epoch %d/%d [%s] step %lld/%lld loss %.4f ETA %.0fs   ", p->label, p->epoch, p->epochs,
               bar, static_cast<long long>(step), static_cast<long long>(steps), running_loss, eta);
  std::fflush(stderr);
}

// What the per-step hook needs to save a mid-epoch checkpoint.
struct StepHook {
  Progress* prog = nullptr;
  CheckpointControl* ctl = nullptr;
  const Model* model = nullptr;
  const EpochCursor* cursor = nullptr;
  io::TrainState pos{};            // filled at the epoch's start
  const int64_t* global_step = nullptr;
  const std::vector<double>* history = nullptr;
  bool failed = false;
};

void step_hook(void* user, int64_t step, int64_t steps, double running_loss) {
  auto* h = static_cast<StepHook*>(user);
  draw_progress(h->prog, step, steps, running_loss);
  CheckpointControl* c = h->ctl;
  if (!c || !c->path) return;
  ++c->run_steps;
  if (c->stop_after > 0 && c->run_steps >= c->stop_after) g_stop = 1;
  if (g_stop || step == steps) return;  // the caller saves at the stop and at the epoch's end
  if (c->every > 0 && *h->global_step % c->every == 0) {
    io::TrainState pos = h->pos;
    pos.step_in_epoch = h->cursor->step;
    pos.loss_sum = h->cursor->loss_sum;
    pos.rows_seen = h->cursor->rows;
    pos.global_step = *h->global_step;
    if (!write_checkpoint(c, *h->model, pos, *h->history)) {
      h->failed = true;
      g_stop = 1;
    }
  }
}

// ------------------------------------------------------------ one stage

struct StageResult {
  double train_loss = NAN, valid_loss = NAN, valid_acc = NAN, seconds_per_epoch = 0;
  int epochs = 0;
  std::vector<double> train_hist, valid_hist;
};

// A stage's training rows, target = input: the images' bytes (each batch
// converted to byte / 255, bit for bit the float pixels, from a quarter of the
// memory traffic), or float rows (greedy's codings).
struct TrainRows {
  ByteMatrixView bytes{};
  ConstMatrixView floats{};
  int rows() const { return bytes.data ? bytes.rows : floats.rows; }
};

Status train_rows_epoch(Model& model, const TrainRows& train, Rng& rng, const EpochContext& ctx, EpochCursor* cursor,
                        double* mean_loss) {
  if (train.bytes.data) return train_epoch_from(model, train.bytes, rng, ctx, cursor, mean_loss);
  return train_epoch_from(model, train.floats, ConstMatrixView{}, rng, ctx, cursor, mean_loss);
}

// Trains `model` for the stage's epochs on `train`, validating on `valid`
// (target = input unless given) after each epoch. Returns an exit code.
int run_stage(const Stage& st, const Options& o, Model& model, const TrainRows& train, ConstMatrixView valid,
              ConstMatrixView valid_t, Rng& rng, StageResult* r, CheckpointControl* ctl = nullptr) {
  const OptimizerConfig opt = make_optimizer(o, st.lr);
  Status s = check_training_setup(model, st.loss, opt);
  if (s != Status::ok) return fail_status("train", st.label, s);
  std::vector<uint32_t> order(static_cast<std::size_t>(train.rows()));
  std::vector<float> gather(epoch_gather_floats(model, false));
  r->train_hist.reserve(static_cast<std::size_t>(st.epochs));
  r->valid_hist.reserve(static_cast<std::size_t>(st.epochs));
  Progress prog;
  prog.tty = isatty(STDERR_FILENO) != 0;
  prog.label = st.label;
  prog.epochs = st.epochs;
  int64_t step = 0;
  EpochContext ctx;
  ctx.loss = st.loss;
  ctx.optimizer = opt;
  ctx.step = &step;
  ctx.order = order.data();
  ctx.gather = gather.data();
  ctx.progress = draw_progress;
  ctx.user = &prog;
  // Checkpoints: the position and history of the run, and the hook that
  // saves every N steps. Without ctl this is the plain loop.
  const bool ckpt = ctl && ctl->path;
  std::vector<double> history;  // train, valid, valid-acc per completed epoch
  EpochCursor cursor;
  StepHook hook;
  int first = 1;
  if (ctl && ctl->resume) {
    const io::TrainState& rs = ctl->resume->state;
    history = ctl->resume->history;
    for (std::size_t k = 0; k + 2 < history.size(); k += 3) {
      r->train_hist.push_back(history[k]);
      r->valid_hist.push_back(history[k + 1]);
      r->train_loss = history[k];
      r->valid_loss = history[k + 1];
      r->valid_acc = history[k + 2];
    }
    first = rs.epochs_done + 1;
    step = rs.global_step;
    rng.restore(rs.rng_state, rs.rng_inc);
    cursor.step = rs.step_in_epoch;
    cursor.loss_sum = rs.loss_sum;
    cursor.rows = rs.rows_seen;
    ctx.optimizer = rs.optimizer;
  }
  if (ctl) {
    hook.prog = &prog;
    hook.ctl = ctl;
    hook.model = &model;
    hook.cursor = &cursor;
    hook.global_step = &step;
    hook.history = &history;
    hook.pos = ctl->base;
    hook.pos.stage = st.index;
    hook.pos.loss = st.loss;
    hook.pos.optimizer = ctx.optimizer;
    ctx.progress = step_hook;
    ctx.user = &hook;
    ctx.stop = &g_stop;
  }
  history.reserve(3 * static_cast<std::size_t>(st.epochs > 0 ? st.epochs : 0));  // no heap call per epoch
  double train_seconds = 0;
  int trained = 0;
  for (int e = first; e <= st.epochs; ++e) {
    if (g_stop) break;
    prog.epoch = e;
    prog.start_us = platform::now_us();
    double train_loss = 0;
    const uint64_t t0 = platform::now_us();
    hook.pos.epochs_done = e - 1;
    hook.pos.rng_state = rng.state();  // the shuffle of epoch e starts here
    hook.pos.rng_inc = rng.increment();
    s = train_rows_epoch(model, train, rng, ctx, &cursor, &train_loss);
    const double secs = static_cast<double>(platform::now_us() - t0) * 1e-6;
    if (prog.tty) std::fprintf(stderr, "\r%*s\r", 100, "");
    if (s == Status::non_finite || (s == Status::ok && !all_finite(model.trainable(), model.trainable_count()))) {
      std::fprintf(stderr,
                   "mote train: %s: the loss, a gradient or a weight became NaN/inf in epoch %d (step %lld); "
                   "training stopped",
                   st.label, e, static_cast<long long>(cursor.step + (s == Status::non_finite ? 1 : 0)));
      if (ckpt) std::fprintf(stderr, "; the last good checkpoint %s (%s) is kept", ctl->path, ctl->last_saved);
      std::fprintf(stderr, "; lower --lr\n");
      return kExitFailure;
    }
    if (s != Status::ok) return fail_status("train", st.label, s);
    if (hook.failed) return kExitFailure;
    train_seconds += secs;
    const int64_t steps = (static_cast<int64_t>(train.rows()) + model.batch() - 1) / model.batch();
    if (cursor.step < steps) {  // stopped inside the epoch
      io::TrainState pos = hook.pos;
      pos.step_in_epoch = cursor.step;
      pos.loss_sum = cursor.loss_sum;
      pos.rows_seen = cursor.rows;
      pos.global_step = step;
      if (ckpt && !write_checkpoint(ctl, model, pos, history)) return kExitFailure;
      break;
    }
    ++trained;
    EvalResult v;
    s = evaluate(model, valid, valid_t, st.loss, &v);
    if (s != Status::ok) return fail_status("train", "validation", s);
    r->train_loss = train_loss;
    r->valid_loss = v.loss;
    r->valid_acc = v.rounded_accuracy;
    r->train_hist.push_back(train_loss);
    r->valid_hist.push_back(v.loss);
    std::printf("%-10s epoch %2d/%d  train %.4f  valid %.4f  valid-acc %.4f  %.2f s\n", st.label, e, st.epochs,
                train_loss, v.loss, v.rounded_accuracy, secs);
    std::fflush(stdout);
    cursor = EpochCursor{};
    history.push_back(train_loss);
    history.push_back(v.loss);
    history.push_back(v.rounded_accuracy);
    if (ckpt) {
      io::TrainState pos = hook.pos;
      pos.epochs_done = e;
      pos.step_in_epoch = 0;
      pos.rng_state = rng.state();
      pos.rng_inc = rng.increment();
      pos.global_step = step;
      if (!write_checkpoint(ctl, model, pos, history)) return kExitFailure;
    }
  }
  if (ctl && g_stop && ckpt && (first + trained <= st.epochs)) {
    note_stopped(ctl);
    return kExitOk;
  }

  r->epochs = st.epochs;
  r->seconds_per_epoch = trained > 0 ? train_seconds / trained : 0;
  return kExitOk;
}

// ------------------------------------------------------------ models

struct Trained {
  std::string name;
  ModelSpec spec{};
  std::vector<float> params;
  std::size_t arena_bytes = 0;
  StageResult result;  // the final stage
  EvalResult test;
};

bool bind_fresh(Model& m, ArenaBuffer& buf, const ModelSpec& spec, const Options& o, uint64_t seed) {
  PlanOptions po;
  po.batch = static_cast<int32_t>(o.batch);
  po.optimizer = o.optimizer;
  const std::size_t bytes = arena_bytes(spec, po);
  if (bytes == 0 || !buf.allocate(bytes)) return false;
  if (m.bind(spec, po, buf.data, buf.size) != Status::ok) return false;
  m.init_glorot(seed);
  return true;
}

// Rows r0 .. r0 + n - 1 of `x` as floats: in place, or converted into `buf`.
ConstMatrixView float_rows(ConstMatrixView x, int r0, int n, std::vector<float>&) { return x.rows_from(r0, n); }
ConstMatrixView float_rows(ByteMatrixView x, int r0, int n, std::vector<float>& buf) {
  const std::size_t w = static_cast<std::size_t>(x.cols);
  buf.resize(static_cast<std::size_t>(n) * w);  // the first batch is the largest: one allocation
  for (int r = 0; r < n; ++r) io::pixels_to_floats(x.row(r0 + r), w, buf.data() + static_cast<std::size_t>(r) * w);
  return {buf.data(), n, x.cols, x.cols};
}

// Encodes all rows of `x` (floats, or image bytes) with the first layer of `m` into `out`.
template <class Rows>
void encode(Model& m, Rows x, std::vector<float>& out) {
  const int w = m.layer(0).spec.out;
  out.assign(static_cast<std::size_t>(x.rows) * static_cast<std::size_t>(w), 0.0f);
  std::vector<float> buf;
  for (int r0 = 0; r0 < x.rows; r0 += m.batch()) {
    const int rows = x.rows - r0 < m.batch() ? x.rows - r0 : m.batch();
    ConstMatrixView y;
    m.forward_partial(float_rows(x, r0, rows, buf), 1, &y);
    for (int r = 0; r < rows; ++r)
      std::memcpy(&out[static_cast<std::size_t>(r0 + r) * w], y.row(r), static_cast<std::size_t>(w) * sizeof(float));
  }
}

int epochs_or(const Options& o, int schedule) { return o.epochs >= 0 ? static_cast<int>(o.epochs) : schedule; }
// The reference schedule's epochs (of every stage for greedy).
int default_epochs(const std::string& name) { return name == "stacked" ? 20 : 10; }

int train_one(const char* name, const Options& o, const io::Dataset& d, Trained* t, CheckpointControl* ctl) {
  t->name = name;
  const auto seed = static_cast<uint64_t>(o.seed);
  Rng rng(seed, 7);  // the epoch order; the weights use `seed` on their own stream
  Model model;
  ArenaBuffer arena;
  const ConstMatrixView none{};
  if (const ModelSpec* spec = reference_spec(name)) {
    const Stage st{name, Loss::binary_crossentropy, 1.5f, epochs_or(o, default_epochs(name))};
    if (!bind_fresh(model, arena, *spec, o, seed)) return fail_status("train", "arena", Status::arena_too_small);
    if (ctl->resume) {  // the recorded weights and optimizer moments
      const int rc = restore_stage(model, *ctl->resume, *ctl, name);
      if (rc != kExitOk) return rc;
    }
    const int rc = run_stage(st, o, model, {.bytes = d.train()}, d.valid(), none, rng, &t->result, ctl);
    if (rc != kExitOk || ctl->interrupted) return rc;
    t->spec = *spec;
  } else {  // greedy layer-wise: AE1, AE2 on AE1's codings, the stacked sandwich fine-tuned
    // A resumed run skips the stages before the recorded one: their results
    // are in the checkpoint (stage 1 carries AE1; stage 2's model holds both).
    const io::Checkpoint* ck = ctl->resume;
    const int from = ck ? ck->state.stage : 0;
    const int epochs = epochs_or(o, 10);
    const Stage st1{"greedy-ae1", Loss::binary_crossentropy, 1.5f, epochs, 0};
    const Stage st2{"greedy-ae2", Loss::mse, 0.05f, epochs, 1};
    const Stage st3{"greedy-ft", Loss::binary_crossentropy, 0.1f, epochs, 2};
    // Between stages: a stop that came with the last step of a stage (its
    // end-of-epoch checkpoint is on disk) or during the coding pass.
    auto stopped_between = [&] {
      if (!ctl->path || !g_stop) return false;
      note_stopped(ctl);
      return true;
    };
    int rc = kExitOk;
    if (from <= 1) {
      Model ae1, ae2;
      ArenaBuffer a1, a2;
      if (!bind_fresh(ae1, a1, reference::greedy_ae1, o, seed) ||
          !bind_fresh(ae2, a2, reference::greedy_ae2, o, seed + 1))
        return fail_status("train", "arena", Status::arena_too_small);
      if (from == 0) {
        StageResult r1;
        if (ck && (rc = restore_stage(ae1, *ck, *ctl, st1.label)) != kExitOk) return rc;
        rc = run_stage(st1, o, ae1, {.bytes = d.train()}, d.valid(), none, rng, &r1, ctl);
        ctl->resume = nullptr;
        if (rc != kExitOk || ctl->interrupted) return rc;
        if (stopped_between()) return kExitOk;
      } else {
        ae1.set_params(ck->prev_params.data(), ck->prev_params.size());
        if ((rc = restore_stage(ae2, *ck, *ctl, st2.label)) != kExitOk) return rc;
      }
      std::vector<float> p1(ae1.param_count()), p2(ae2.param_count());
      ae1.get_params(p1.data(), p1.size());
      std::vector<float> codes_train, codes_valid;  // deterministic from AE1: recomputed on resume
      encode(ae1, d.train(), codes_train);
      encode(ae1, d.valid(), codes_valid);
      const ConstMatrixView ct{codes_train.data(), d.train().rows, 100, 100};
      const ConstMatrixView cv{codes_valid.data(), d.valid().rows, 100, 100};
      StageResult r2;
      ctl->prev_spec = &reference::greedy_ae1;  // every checkpoint of stage 1 carries AE1
      ctl->prev_params = &p1;
      rc = run_stage(st2, o, ae2, {.floats = ct}, cv, none, rng, &r2, ctl);
      ctl->prev_spec = nullptr;
      ctl->prev_params = nullptr;
      ctl->resume = nullptr;
      if (rc != kExitOk || ctl->interrupted) return rc;
      if (stopped_between()) return kExitOk;
      // Stack enc1, enc2, dec2, dec1 into one sandwich.
      ae2.get_params(p2.data(), p2.size());
      const std::size_t enc1 = 784 * 100 + 100;
      std::vector<float> stacked(p1.begin(), p1.begin() + static_cast<std::ptrdiff_t>(enc1));
      stacked.insert(stacked.end(), p2.begin(), p2.end());
      stacked.insert(stacked.end(), p1.begin() + static_cast<std::ptrdiff_t>(enc1), p1.end());
      if (!bind_fresh(model, arena, reference::stacked, o, seed))
        return fail_status("train", "arena", Status::arena_too_small);
      model.set_params(stacked.data(), stacked.size());
      EvalResult before;
      evaluate(model, d.valid(), none, Loss::binary_crossentropy, &before);
      std::printf("%-10s stacked before fine-tuning: valid %.4f  valid-acc %.4f\n", "greedy", before.loss,
                  before.rounded_accuracy);
    } else {
      if (!bind_fresh(model, arena, reference::stacked, o, seed))
        return fail_status("train", "arena", Status::arena_too_small);
      if ((rc = restore_stage(model, *ck, *ctl, st3.label)) != kExitOk) return rc;
    }
    rc = run_stage(st3, o, model, {.bytes = d.train()}, d.valid(), none, rng, &t->result, ctl);
    ctl->resume = nullptr;
    if (rc != kExitOk || ctl->interrupted) return rc;
    t->spec = reference::stacked;
  }
  t->params.resize(model.param_count());
  model.get_params(t->params.data(), t->params.size());
  t->arena_bytes = model.arena_used();
  const Status s = evaluate(model, d.test.view(), none, Loss::binary_crossentropy, &t->test);
  if (s != Status::ok) return fail_status("train", "test", s);
  std::printf("%-10s params %zu (%zu bytes)  arena %zu bytes  test loss %.4f  test-acc %.4f\n", name,
              t->params.size(), t->params.size() * sizeof(float), t->arena_bytes, t->test.loss,
              t->test.rounded_accuracy);
  std::fflush(stdout);
  return kExitOk;
}

void print_comparison(const std::vector<Trained>& ts) {
  std::printf("\n%-22s", "");
  for (const Trained& t : ts) std::printf("%14s", t.name.c_str());
  std::printf("\n%-22s", "parameters");
  for (const Trained& t : ts) std::printf("%14zu", t.params.size());
  std::printf("\n%-22s", "epochs");
  for (const Trained& t : ts) std::printf("%14d", t.result.epochs);
  std::printf("\n%-22s", "train loss");
  for (const Trained& t : ts) std::printf("%14.4f", t.result.train_loss);
  std::printf("\n%-22s", "valid loss");
  for (const Trained& t : ts) std::printf("%14.4f", t.result.valid_loss);
  std::printf("\n%-22s", "valid rounded acc");
  for (const Trained& t : ts) std::printf("%14.4f", t.result.valid_acc);
  std::printf("\n%-22s", "test loss");
  for (const Trained& t : ts) std::printf("%14.4f", t.test.loss);
  std::printf("\n%-22s", "seconds per epoch");
  for (const Trained& t : ts) std::printf("%14.2f", t.result.seconds_per_epoch);
  std::printf("\n");
}

}  // namespace

int cmd_train(int argc, char** argv) {
  Args a;
  if (!a.parse("train", argc, argv, kFlags, kNumFlags)) return kExitBadInput;
  if (a.has("help")) {
    print_usage("train", "[options]", kFlags, kNumFlags);
    return kExitOk;
  }
  g_stop = 0;  // a previous run in this process (tests) may have stopped
  g_signal = 0;
  Options o;
  if (!a.integer("epochs", 0, 100000, &o.epochs) || !a.integer("batch", 1, 65536, &o.batch) ||
      !a.real("lr", 0.0, 1e6, &o.lr) || !a.integer("seed", 0, INT64_MAX, &o.seed) ||
      !a.integer("limit", 1, INT32_MAX, &o.limit))
    return kExitBadInput;
  const char* opt = a.str("optimizer", "sgd");  // reassigned by --resume
  if (!std::strcmp(opt, "sgd")) o.optimizer = Optimizer::sgd;
  else if (!std::strcmp(opt, "momentum")) o.optimizer = Optimizer::momentum;
  else if (!std::strcmp(opt, "nesterov")) o.optimizer = Optimizer::nesterov;
  else if (!std::strcmp(opt, "adam")) o.optimizer = Optimizer::adam;
  else {
    std::fprintf(stderr, "mote train: --optimizer: expected sgd, momentum, nesterov or adam, got '%s'\n", opt);
    return kExitBadInput;
  }
  std::vector<std::string> names;
  {
    const std::string list = a.str("model", "tied");
    std::size_t p = 0;
    while (p <= list.size()) {
      const std::size_t q = list.find(',', p);
      const std::string n = list.substr(p, q == std::string::npos ? std::string::npos : q - p);
      if (n != "stacked" && n != "tied" && n != "greedy") {
        std::fprintf(stderr, "mote train: --model: expected stacked, tied or greedy, got '%s'\n", n.c_str());
        return kExitBadInput;
      }
      names.push_back(n);
      if (q == std::string::npos) break;
      p = q + 1;
    }
  }
  if (names.size() > 1 && (a.has("save") || a.has("report"))) {
    std::fprintf(stderr, "mote train: --save and --report take a single --model\n");
    return kExitBadInput;
  }
  CheckpointControl ctl;
  io::Checkpoint resume;
  io::Error err;
  if (!a.integer("checkpoint-every", 1, INT64_MAX, &ctl.every) || !a.integer("stop-after", 1, INT64_MAX, &ctl.stop_after))
    return kExitBadInput;
  const bool checkpointing = a.has("checkpoint") || a.has("resume");
  if ((a.has("checkpoint-every") || a.has("stop-after")) && !checkpointing) {
    std::fprintf(stderr, "mote train: --checkpoint-every and --stop-after need --checkpoint FILE\n");
    return kExitBadInput;
  }
  if (a.has("resume")) {
    ctl.resume_path = a.str("resume", "");
    if (io::load_checkpoint(ctl.resume_path, &resume, &err) != Status::ok) {
      std::fprintf(stderr, "mote train: %s\n", err.message);
      return kExitBadInput;
    }
    // The run's settings come from the checkpoint; flags may only repeat them.
    const io::TrainState& rs = resume.state;
    const bool greedy = !std::strcmp(rs.model, "greedy");  // the loader checked the stage is in range
    const ModelSpec* ref = greedy ? io::greedy_stage_spec(rs.stage) : reference_spec(rs.model);
    if (!ref || !io::same_spec(*ref, resume.spec)) {
      if (greedy)
        std::fprintf(stderr, "mote train: %s: the checkpoint's model is not the reference model of greedy stage %d\n",
                     ctl.resume_path, rs.stage + 1);
      else
        std::fprintf(stderr, "mote train: %s: the checkpoint's model is not the reference '%s' model\n",
                     ctl.resume_path, rs.model);
      return kExitBadInput;
    }
    if (greedy && rs.stage == 1 && !io::same_spec(resume.prev_spec, reference::greedy_ae1)) {
      std::fprintf(stderr, "mote train: %s: the first stage's model it carries is not the reference greedy AE1\n",
                   ctl.resume_path);
      return kExitBadInput;
    }
    const bool fixed_lr = (rs.flags & io::kTrainFixedLr) != 0;
    const char* differs = nullptr;
    if (a.has("model") && (names.size() != 1 || names[0] != rs.model)) differs = "--model";
    else if (a.has("batch") && o.batch != rs.batch) differs = "--batch";
    else if (a.has("seed") && static_cast<uint64_t>(o.seed) != rs.seed) differs = "--seed";
    else if (a.has("limit") && o.limit != rs.limit) differs = "--limit";
    else if (a.has("optimizer") && o.optimizer != rs.optimizer.kind) differs = "--optimizer";
    else if (a.has("lr") && (static_cast<float>(o.lr) != rs.optimizer.lr || (greedy && !fixed_lr))) differs = "--lr";
    if (differs) {
      std::fprintf(stderr, "mote train: %s differs from the run recorded in %s (leave it out to resume)\n", differs,
                   ctl.resume_path);
      return kExitBadInput;
    }
    names.assign(1, rs.model);
    o.batch = rs.batch;
    o.seed = static_cast<int64_t>(rs.seed);
    o.limit = rs.limit;
    o.optimizer = rs.optimizer.kind;
    if (fixed_lr) o.lr = rs.optimizer.lr;  // every stage's rate (greedy's later stages need it)
    static const char* const kOptNames[] = {"sgd", "momentum", "nesterov", "adam"};
    opt = kOptNames[static_cast<int>(rs.optimizer.kind)];
    const int target = epochs_or(o, default_epochs(names[0]));
    if (rs.epochs_done + (rs.step_in_epoch > 0 ? 1 : 0) > target) {
      std::fprintf(stderr, "mote train: %s: the run is past epoch %d already; ask for more --epochs\n",
                   ctl.resume_path, target);
      return kExitBadInput;
    }
    ctl.resume = &resume;
    if (greedy)
      std::fprintf(stderr, "resuming %s: greedy stage %d of %d, epoch %d done, step %lld of the next\n",
                   ctl.resume_path, rs.stage + 1, io::kGreedyStages, rs.epochs_done,
                   static_cast<long long>(rs.step_in_epoch));
    else
      std::fprintf(stderr, "resuming %s: %s, epoch %d done, step %lld of the next\n", ctl.resume_path, rs.model,
                   rs.epochs_done, static_cast<long long>(rs.step_in_epoch));
  }
  if (checkpointing) {
    if (names.size() != 1) {
      std::fprintf(stderr, "mote train: --checkpoint and --resume take a single --model\n");
      return kExitBadInput;
    }
    ctl.path = a.has("checkpoint") ? a.str("checkpoint", "") : ctl.resume_path;
    std::snprintf(ctl.base.model, sizeof ctl.base.model, "%s", names[0].c_str());
    ctl.base.seed = static_cast<uint64_t>(o.seed);
    ctl.base.batch = static_cast<int32_t>(o.batch);
    ctl.base.limit = static_cast<int32_t>(o.limit);
    ctl.base.flags = o.lr >= 0 ? io::kTrainFixedLr : 0;
    if (ctl.resume) std::snprintf(ctl.last_saved, sizeof ctl.last_saved, "the resumed one");
  }

  const char* dir = a.str("data", io::kDefaultDataDir);
  std::fprintf(stderr, "loading Fashion-MNIST from %s ...\n", dir);
  io::Dataset data;
  if (io::load_fashion_mnist(dir, static_cast<int>(o.limit), &data, &err) != Status::ok) {
    std::fprintf(stderr, "mote train: %s\n", err.message);
    if (err.status == Status::io_error && !a.has("data"))
      std::fprintf(stderr, "mote train: install the data with 'apt-get install dataset-fashion-mnist' or pass --data DIR\n");
    return kExitBadInput;
  }
  std::fprintf(stderr, "train %d, valid %d, test %d images; batch %lld, %s\n", data.train_rows, data.valid_rows,
               data.test.count, static_cast<long long>(o.batch), opt);

  // With checkpoints, SIGINT and SIGTERM stop training after the current
  // step and save the position (the handler only sets a flag).
  struct sigaction sa {}, old_int{}, old_term{};
  if (ctl.path) {
    g_stop = 0;
    g_signal = 0;
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
  }
  std::vector<Trained> done(names.size());
  int rc = kExitOk;
  for (std::size_t i = 0; i < names.size() && rc == kExitOk; ++i) rc = train_one(names[i].c_str(), o, data, &done[i], &ctl);
  if (ctl.path) {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
  }
  if (rc != kExitOk) return rc;
  if (ctl.interrupted) return ctl.exit_code;
  if (done.size() > 1) print_comparison(done);

  const Trained& t = done[0];
  if (a.has("save")) {
    if (io::save_model(a.str("save", ""), t.spec, t.params.data(), t.params.size(), &err) != Status::ok) {
      std::fprintf(stderr, "mote train: %s\n", err.message);
      return kExitFailure;
    }
    std::fprintf(stderr, "saved %s\n", a.str("save", ""));
  }
  if (a.has("report")) {
    Report r;
    r.add("model", t.name.c_str());
    r.add("params", static_cast<int64_t>(t.params.size()));
    r.add("param_bytes", static_cast<int64_t>(t.params.size() * sizeof(float)));
    r.add("arena_bytes", static_cast<int64_t>(t.arena_bytes));
    r.add("epochs", static_cast<int64_t>(t.result.epochs));
    r.add("batch", o.batch);
    r.add("optimizer", opt);
    r.add("seed", o.seed);
    r.add("train_loss", t.result.train_loss);
    r.add("valid_loss", t.result.valid_loss);
    r.add("valid_rounded_accuracy", t.result.valid_acc);
    r.add("test_loss", t.test.loss);
    r.add("test_rounded_accuracy", t.test.rounded_accuracy);
    r.add("seconds_per_epoch", t.result.seconds_per_epoch);
    r.add_raw("train_loss_history", json_array(t.result.train_hist.data(), static_cast<int>(t.result.train_hist.size())));
    r.add_raw("valid_loss_history", json_array(t.result.valid_hist.data(), static_cast<int>(t.result.valid_hist.size())));
    if (r.write(a.str("report", ""), &err) != Status::ok) {
      std::fprintf(stderr, "mote train: %s\n", err.message);
      return kExitFailure;
    }
  }
  return kExitOk;
}

}  // namespace mote::cli
