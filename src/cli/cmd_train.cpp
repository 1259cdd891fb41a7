// mote train: the reference schedules of shared/reference/README.md.
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
    {"help", false, "show this help"},
};
constexpr int kNumFlags = sizeof kFlags / sizeof kFlags[0];

struct Stage {
  const char* label;
  Loss loss;
  float lr;
  int epochs;
};

struct Options {
  int64_t epochs = -1;
  int64_t batch = 32;
  double lr = -1;
  Optimizer optimizer = Optimizer::sgd;
  int64_t seed = 42;
  int64_t limit = 0;
};

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

// ------------------------------------------------------------ one stage

struct StageResult {
  double train_loss = NAN, valid_loss = NAN, valid_acc = NAN, seconds_per_epoch = 0;
  int epochs = 0;
  std::vector<double> train_hist, valid_hist;
};

// Trains `model` for the stage's epochs on `train` (target = input unless
// given), validating on `valid` after each epoch. Returns an exit code.
int run_stage(const Stage& st, const Options& o, Model& model, ConstMatrixView train, ConstMatrixView train_t,
              ConstMatrixView valid, ConstMatrixView valid_t, Rng& rng, StageResult* r) {
  const OptimizerConfig opt = make_optimizer(o, st.lr);
  Status s = check_training_setup(model, st.loss, opt);
  if (s != Status::ok) return fail_status("train", st.label, s);
  std::vector<uint32_t> order(static_cast<std::size_t>(train.rows));
  std::vector<float> gather(epoch_gather_floats(model, train_t.data != nullptr));
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
  double train_seconds = 0;
  for (int e = 1; e <= st.epochs; ++e) {
    prog.epoch = e;
    prog.start_us = platform::now_us();
    double train_loss = 0;
    const uint64_t t0 = platform::now_us();
    s = train_epoch(model, train, train_t, rng, ctx, &train_loss);
    const double secs = static_cast<double>(platform::now_us() - t0) * 1e-6;
    if (prog.tty) std::fprintf(stderr, "\r%*s\r", 100, "");
    if (s == Status::non_finite) {
      std::fprintf(stderr, "mote train: %s: the loss or a gradient became NaN/inf in epoch %d; lower --lr\n", st.label,
                   e);
      return kExitFailure;
    }
    if (s != Status::ok) return fail_status("train", st.label, s);
    train_seconds += secs;
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
  }
  r->epochs = st.epochs;
  r->seconds_per_epoch = st.epochs > 0 ? train_seconds / st.epochs : 0;
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

// Encodes all rows of `x` with the first layer of `m` into `out`.
void encode(Model& m, ConstMatrixView x, std::vector<float>& out) {
  const int w = m.layer(0).spec.out;
  out.assign(static_cast<std::size_t>(x.rows) * static_cast<std::size_t>(w), 0.0f);
  for (int r0 = 0; r0 < x.rows; r0 += m.batch()) {
    const int rows = x.rows - r0 < m.batch() ? x.rows - r0 : m.batch();
    ConstMatrixView y;
    m.forward_partial(x.rows_from(r0, rows), 1, &y);
    for (int r = 0; r < rows; ++r)
      std::memcpy(&out[static_cast<std::size_t>(r0 + r) * w], y.row(r), static_cast<std::size_t>(w) * sizeof(float));
  }
}

int epochs_or(const Options& o, int schedule) { return o.epochs >= 0 ? static_cast<int>(o.epochs) : schedule; }

int train_one(const char* name, const Options& o, const io::Dataset& d, Trained* t) {
  t->name = name;
  const auto seed = static_cast<uint64_t>(o.seed);
  Rng rng(seed, 7);  // the epoch order; the weights use `seed` on their own stream
  Model model;
  ArenaBuffer arena;
  const ConstMatrixView none{};
  if (const ModelSpec* spec = reference_spec(name)) {
    const bool tied = !std::strcmp(name, "tied");
    const Stage st{name, Loss::binary_crossentropy, 1.5f, epochs_or(o, tied ? 10 : 20)};
    if (!bind_fresh(model, arena, *spec, o, seed)) return fail_status("train", "arena", Status::arena_too_small);
    const int rc = run_stage(st, o, model, d.train(), none, d.valid(), none, rng, &t->result);
    if (rc != kExitOk) return rc;
    t->spec = *spec;
  } else {  // greedy layer-wise
    Model ae1, ae2;
    ArenaBuffer a1, a2;
    if (!bind_fresh(ae1, a1, reference::greedy_ae1, o, seed) || !bind_fresh(ae2, a2, reference::greedy_ae2, o, seed + 1))
      return fail_status("train", "arena", Status::arena_too_small);
    StageResult r1, r2;
    int rc = run_stage({"greedy-ae1", Loss::binary_crossentropy, 1.5f, epochs_or(o, 10)}, o, ae1, d.train(), none,
                       d.valid(), none, rng, &r1);
    if (rc != kExitOk) return rc;
    std::vector<float> codes_train, codes_valid;
    encode(ae1, d.train(), codes_train);
    encode(ae1, d.valid(), codes_valid);
    const ConstMatrixView ct{codes_train.data(), d.train().rows, 100, 100};
    const ConstMatrixView cv{codes_valid.data(), d.valid().rows, 100, 100};
    rc = run_stage({"greedy-ae2", Loss::mse, 0.05f, epochs_or(o, 10)}, o, ae2, ct, none, cv, none, rng, &r2);
    if (rc != kExitOk) return rc;
    // Stack enc1, enc2, dec2, dec1 into one sandwich.
    std::vector<float> p1(ae1.param_count()), p2(ae2.param_count());
    ae1.get_params(p1.data(), p1.size());
    ae2.get_params(p2.data(), p2.size());
    const std::size_t enc1 = 784 * 100 + 100;
    std::vector<float> stacked(p1.begin(), p1.begin() + static_cast<std::ptrdiff_t>(enc1));
    stacked.insert(stacked.end(), p2.begin(), p2.end());
    stacked.insert(stacked.end(), p1.begin() + static_cast<std::ptrdiff_t>(enc1), p1.end());
    if (!bind_fresh(model, arena, reference::stacked, o, seed)) return fail_status("train", "arena", Status::arena_too_small);
    model.set_params(stacked.data(), stacked.size());
    EvalResult before;
    evaluate(model, d.valid(), none, Loss::binary_crossentropy, &before);
    std::printf("%-10s stacked before fine-tuning: valid %.4f  valid-acc %.4f\n", "greedy", before.loss,
                before.rounded_accuracy);
    rc = run_stage({"greedy-ft", Loss::binary_crossentropy, 0.1f, epochs_or(o, 10)}, o, model, d.train(), none,
                   d.valid(), none, rng, &t->result);
    if (rc != kExitOk) return rc;
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
  Options o;
  if (!a.integer("epochs", 0, 100000, &o.epochs) || !a.integer("batch", 1, 65536, &o.batch) ||
      !a.real("lr", 0.0, 1e6, &o.lr) || !a.integer("seed", 0, INT64_MAX, &o.seed) ||
      !a.integer("limit", 1, INT32_MAX, &o.limit))
    return kExitBadInput;
  const char* opt = a.str("optimizer", "sgd");
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

  const char* dir = a.str("data", io::kDefaultDataDir);
  std::fprintf(stderr, "loading Fashion-MNIST from %s ...\n", dir);
  io::Dataset data;
  io::Error err;
  if (io::load_fashion_mnist(dir, static_cast<int>(o.limit), &data, &err) != Status::ok) {
    std::fprintf(stderr, "mote train: %s\n", err.message);
    if (err.status == Status::io_error && !a.has("data"))
      std::fprintf(stderr, "mote train: install the data with 'apt-get install dataset-fashion-mnist' or pass --data DIR\n");
    return kExitBadInput;
  }
  std::fprintf(stderr, "train %d, valid %d, test %d images; batch %lld, %s\n", data.train_rows, data.valid_rows,
               data.test.count, static_cast<long long>(o.batch), opt);

  std::vector<Trained> done(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    const int rc = train_one(names[i].c_str(), o, data, &done[i]);
    if (rc != kExitOk) return rc;
  }
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
