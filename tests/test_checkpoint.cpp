// Checkpoints end to end, on a small real subset: resume reproduces the
// uninterrupted run bit for bit, SIGINT/SIGTERM save and exit cleanly, 50
// SIGKILLs at random moments never leave a checkpoint that fails to load,
// weights go through NumPy and back with the same test loss, and the CLI
// names the file and the fault on bad input (exit 2).
#include <dirent.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "io/checkpoint.h"
#include "io/model_file.h"
#include "mote/model.h"
#include "mote/model_image.h"
#include "mote/train.h"
#include "mote/rng.h"
#include "cli_test_util.h"
#include "emulation.h"
#include "tmp_dir.h"

extern char** environ;

using namespace mote;

namespace {

int run(int (*cmd)(int, char**), std::vector<std::string> args) { return test::run_command(cmd, std::move(args)); }

std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<unsigned char> slurp(const std::string& path) {
  std::vector<unsigned char> b;
  io::Error err;
  if (io::read_file(path.c_str(), std::size_t{1} << 30, &b, &err) != Status::ok) b.clear();
  return b;
}
std::string text(const std::string& path) {
  const std::vector<unsigned char> b = slurp(path);
  return std::string(b.begin(), b.end());
}
bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Starts the mote binary with stdout and stderr going to `log`.
pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> all = {MOTE_EXE};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, MOTE_EXE, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  return pid;
}
int wait_exit(pid_t pid, int* signal_out = nullptr) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (signal_out) *signal_out = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
int run_exe(const std::vector<std::string>& args, const std::string& log) { return wait_exit(spawn(args, log)); }

// Waits until `path` exists; false when `pid` ends first or time runs out.
bool wait_for_file(const std::string& path, double seconds, pid_t pid) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (exists(path)) return true;
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

// Files named "*.tmp.*" in a folder: the temporaries of saves.
int count_temporaries(const std::string& folder) {
  int n = 0;
  if (DIR* d = opendir(folder.c_str())) {
    while (dirent* e = readdir(d)) n += std::strstr(e->d_name, ".tmp.") != nullptr;
    closedir(d);
  }
  return n;
}

io::Checkpoint load_ck(const std::string& path) {
  io::Checkpoint c;
  io::Error err;
  REQUIRE_MESSAGE(io::load_checkpoint(path.c_str(), &c, &err) == Status::ok, err.message);
  return c;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif
// Fewer runs where every process start is slow: under a sanitizer, and under
// emulation (stage 20 sets MOTE_TEST_LIGHT for qemu-user). The host stage runs
// everything.
const bool kEmulated = test::light();
const bool kLight = kSanitized || kEmulated;

// 640 images: 20 steps of 32 per epoch. Where every step is slow, 160: 5
// steps (under qemu-user the float arithmetic is emulated: ~0.25 s a step).
const int kImages = kLight ? 160 : 640;
const int kSteps = kImages / 32;
const std::vector<std::string> kRun = {"--model", "tied", "--limit", std::to_string(kImages), "--seed", "5"};

}  // namespace

TEST_CASE("resume reproduces the uninterrupted run exactly") {
  test::TempDir dir;
  for (const char* opt : {"sgd", "adam"}) {
    CAPTURE(opt);
    const std::vector<std::string> base = plus(kRun, {"--optimizer", opt});
    const std::string ref_ck = dir.file("ref.ckpt"), ref_model = dir.file("ref.mote");
    REQUIRE(run(cli::cmd_train, plus(base, {"--epochs", "3", "--checkpoint", ref_ck, "--save", ref_model})) == 0);
    const io::Checkpoint ref = load_ck(ref_ck);
    CHECK(ref.state.epochs_done == 3);
    CHECK(ref.state.global_step == 3 * kSteps);

    // Stops inside epoch 1, at its very end, inside epoch 2; then a chain of two stops.
    struct Case {
      std::vector<int> stops;
    };
    std::vector<Case> cases = {Case{{7}}, Case{{20}}, Case{{33}}, Case{{5, 24}}};
    if (kLight) cases = {Case{{5}}, Case{{2, 7}}};  // 5 steps per epoch
    if (std::strcmp(opt, "adam") == 0) cases = {Case{{kLight ? 8 : 33}}};
    else if (kEmulated) cases = {Case{{2, 7}}};  // one chain: a stop mid-epoch, one in the next
    for (const Case& c : cases) {
      CAPTURE(c.stops[0]);
      const std::string ck = dir.file("run.ckpt"), model = dir.file("run.mote");
      std::remove(ck.c_str());
      REQUIRE(run(cli::cmd_train, plus(base, {"--epochs", "3", "--checkpoint", ck, "--checkpoint-every", "3",
                                              "--stop-after", std::to_string(c.stops[0])})) == 0);
      int at = c.stops[0];
      io::Checkpoint mid = load_ck(ck);
      CHECK(mid.state.epochs_done == at / kSteps);
      CHECK(mid.state.step_in_epoch == at % kSteps);
      CHECK(mid.state.global_step == at);
      for (std::size_t k = 1; k < c.stops.size(); ++k) {
        REQUIRE(run(cli::cmd_train, {"--resume", ck, "--epochs", "3", "--stop-after",
                                     std::to_string(c.stops[k] - at)}) == 0);
        at = c.stops[k];
        mid = load_ck(ck);
        CHECK(mid.state.global_step == at);
      }
      REQUIRE(run(cli::cmd_train, {"--resume", ck, "--epochs", "3", "--save", model}) == 0);
      const io::Checkpoint end = load_ck(ck);
      CHECK(end.history == ref.history);  // every epoch's train, valid loss and accuracy, as doubles
      CHECK(end.params == ref.params);
      CHECK(end.opt_state == ref.opt_state);
      CHECK(end.state.global_step == 3 * kSteps);
      CHECK(slurp(model) == slurp(ref_model));
    }
  }
}

TEST_CASE("greedy layer-wise training resumes exactly from a stop in any of its three stages") {
  test::TempDir dir;
  // 320 images: 10 steps per epoch, 2 epochs per stage: AE1 steps 1-20, AE2
  // 21-40, fine-tuning 41-60. Where steps are slow, 96 images: 3 steps per
  // epoch, AE1 steps 1-6, AE2 7-12, fine-tuning 13-18.
  const int per_epoch = kLight ? 3 : 10, per_stage = 2 * per_epoch;
  // A stop inside each stage (the last one after an epoch of it).
  const std::vector<int> one_per_stage = kLight ? std::vector<int>{2, 8, 16} : std::vector<int>{5, 25, 47};
  const std::vector<std::string> base = {"--model", "greedy", "--limit", std::to_string(32 * per_epoch),
                                         "--seed",  "5",      "--epochs", "2"};
  const std::string ref_ck = dir.file("ref.ckpt"), ref_model = dir.file("ref.mote");
  REQUIRE(run(cli::cmd_train, plus(base, {"--checkpoint", ref_ck, "--save", ref_model})) == 0);
  const io::Checkpoint ref = load_ck(ref_ck);
  CHECK(std::string(ref.state.model) == "greedy");
  CHECK(ref.state.stage == 2);
  CHECK(ref.state.epochs_done == 2);
  CHECK(ref.prev_params.empty());
  struct Case {
    std::vector<int> stops;  // steps of the whole run where a process stops
  };
  // Inside each stage, at the last step of a stage (the next one has not
  // started), and a chain through all three.
  std::vector<Case> cases = {Case{{7}}, Case{{20}}, Case{{25}}, Case{{40}}, Case{{47}}, Case{{5, 25, 47}}};
  if (kEmulated) cases = {Case{one_per_stage}};  // one chain through the three stages
  else if (kLight) cases = {Case{{per_stage}}, Case{one_per_stage}};
  for (const Case& c : cases) {
    CAPTURE(c.stops.back());
    CAPTURE(c.stops.size());
    const std::string ck = dir.file("run.ckpt"), model = dir.file("run.mote");
    std::remove(ck.c_str());
    int at = 0;
    for (const int stop : c.stops) {
      const std::vector<std::string> more = {"--checkpoint-every", "3", "--stop-after", std::to_string(stop - at)};
      REQUIRE(run(cli::cmd_train, at == 0 ? plus(plus(base, {"--checkpoint", ck}), more)
                                          : plus({"--resume", ck, "--epochs", "2"}, more)) == 0);
      at = stop;
      const io::Checkpoint mid = load_ck(ck);
      // A stop at a stage's last step leaves that stage's end; inside a stage, its position.
      const int stage = (at - 1) / per_stage, in_stage = at - per_stage * stage;
      CHECK(mid.state.stage == stage);
      CHECK(mid.state.epochs_done == in_stage / per_epoch);
      CHECK(mid.state.step_in_epoch == in_stage % per_epoch);
      CHECK(mid.state.global_step == in_stage);
      CHECK(mid.prev_params.size() == (stage == 1 ? param_count(reference::greedy_ae1) : 0u));
    }
    REQUIRE(run(cli::cmd_train, {"--resume", ck, "--epochs", "2", "--save", model}) == 0);
    const io::Checkpoint end = load_ck(ck);
    CHECK(end.state.stage == 2);
    CHECK(end.history == ref.history);  // the fine-tuning epochs, as doubles
    CHECK(end.params == ref.params);
    CHECK(end.opt_state == ref.opt_state);
    CHECK(slurp(ck) == slurp(ref_ck));
    CHECK(slurp(model) == slurp(ref_model));
  }
  // eval --load evaluates the model of the stage in progress: AE1 (stage 1)
  // and the stacked model (stage 3) are 784 -> 784; AE2 (stage 2) is refused by name.
  const std::string log = dir.file("eval.log");
  auto stop_ck = [&](int stop) {
    std::string name = std::to_string(stop);  // "s" + ... here trips GCC 12's -Wrestrict
    name.insert(0, 1, 's');
    name += ".ckpt";
    return dir.file(name.c_str());
  };
  for (const int stop : one_per_stage) {
    CAPTURE(stop);
    const std::string ck = stop_ck(stop);
    REQUIRE(run(cli::cmd_train, plus(base, {"--checkpoint", ck, "--stop-after", std::to_string(stop)})) == 0);
    const int rc = run_exe({"eval", "--load", ck, "--limit", "64"}, log);
    if (stop == one_per_stage[1]) {
      CHECK(rc == 2);
      CHECK(text(log).find(ck + ": a checkpoint of greedy stage 2 of 3") != std::string::npos);
    } else {
      CHECK(rc == 0);
      CHECK(text(log).find("test  loss") != std::string::npos);
    }
  }
  // --lr set every stage's rate: recorded, restored for the later stages, and
  // a resume may not add one the run did not have.
  const std::string lr_ref = dir.file("lr_ref.mote"), lr_run = dir.file("lr_run.mote"), lr_ck = dir.file("lr.ckpt");
  const std::vector<std::string> fixed = plus(base, {"--lr", "0.2"});
  REQUIRE(run(cli::cmd_train, plus(fixed, {"--save", lr_ref})) == 0);
  REQUIRE(run(cli::cmd_train, plus(fixed, {"--checkpoint", lr_ck, "--stop-after", kLight ? "4" : "15"})) == 0);
  CHECK((load_ck(lr_ck).state.flags & io::kTrainFixedLr) != 0);
  REQUIRE(run(cli::cmd_train, {"--resume", lr_ck, "--epochs", "2", "--save", lr_run}) == 0);
  CHECK(slurp(lr_run) == slurp(lr_ref));
  const std::string s25 = stop_ck(one_per_stage[1]);
  CHECK(run(cli::cmd_train, {"--resume", s25, "--epochs", "2", "--lr", "0.05"}) == 2);  // stage 2's own rate
}

TEST_CASE("a checkpoint's schedule is validated: stages, and the earlier stage's model greedy carries") {
  test::TempDir dir;
  const std::string path = dir.file("g.ckpt");
  // Small stand-ins: the loader checks the structure; `mote train --resume` the reference shapes.
  const ModelSpec ae1 = ModelSpec(6).dense(4, Activation::selu).dense(6, Activation::sigmoid);
  const ModelSpec ae2 = ModelSpec(4).dense(2, Activation::selu).dense(4, Activation::selu);
  io::Checkpoint c;
  c.spec = ae2;
  c.params.assign(param_count(ae2), 0.25f);
  std::snprintf(c.state.model, sizeof c.state.model, "greedy");
  c.state.batch = 2;
  c.state.stage = 1;
  c.state.rng_inc = 1;
  c.prev_spec = ae1;
  c.prev_params.assign(param_count(ae1), -0.5f);
  io::Error err;
  auto loads = [&](const io::Checkpoint& k) {
    REQUIRE(io::save_checkpoint(path.c_str(), k, &err) == Status::ok);
    io::Checkpoint d;
    const Status s = io::load_checkpoint(path.c_str(), &d, &err);
    if (s == Status::ok) {
      CHECK(d.prev_params == k.prev_params);
      CHECK(io::same_spec(d.prev_spec, k.prev_spec));
      return std::string("ok");
    }
    CHECK(std::string(err.message).find(path + ": ") == 0);
    return std::string(err.message).substr(path.size() + 2);
  };
  CHECK(loads(c) == "ok");
  io::Checkpoint k = c;
  k.prev_params.clear();
  CHECK(loads(k).find("without the first stage's model") != std::string::npos);
  k = c;
  k.state.stage = 3;
  CHECK(loads(k).find("stage 3 of a 'greedy' run, which has 3") != std::string::npos);
  k = c;
  k.state.stage = 0;
  CHECK(loads(k).find("an earlier stage's model in a checkpoint of greedy stage 0") != std::string::npos);
  k = c;
  std::snprintf(k.state.model, sizeof k.state.model, "tied");
  CHECK(loads(k) == "training state: stage 1 of a 'tied' run, which has 1");
  k.state.stage = 0;
  CHECK(loads(k) == "an earlier stage's model in a checkpoint of tied stage 0, which has none");
  k = c;
  k.prev_spec = ModelSpec(6).dense(3, Activation::selu).dense(6, Activation::sigmoid);  // codings of 3, AE2 takes 4
  k.prev_params.assign(param_count(k.prev_spec), 0.0f);
  CHECK(loads(k).find("not an autoencoder whose codings feed this stage's 4 inputs") != std::string::npos);
  k = c;
  k.prev_spec = ModelSpec(6).dense(4, Activation::selu);  // not an autoencoder
  k.prev_params.assign(param_count(k.prev_spec), 0.0f);
  CHECK(loads(k).find("not an autoencoder") != std::string::npos);
  // The encoding, byte by byte: flags, the name's padding, unknown sections.
  unsigned char a[io::kTrainStateBytes];
  io::TrainState t = c.state;
  t.flags = 2;
  io::encode_train_state(t, a);
  CHECK(std::string(io::decode_train_state(a, sizeof a, &t)) == "training state: unknown flags");
  t.flags = io::kTrainFixedLr;
  io::encode_train_state(t, a);
  CHECK(io::decode_train_state(a, sizeof a, &t) == nullptr);
  a[4 + 10] = 'x';  // after "greedy\0"
  CHECK(std::string(io::decode_train_state(a, sizeof a, &t)) == "training state: bytes after the model name are not zero");
  {
    REQUIRE(io::save_checkpoint(path.c_str(), c, &err) == Status::ok);
    const std::vector<unsigned char> file = slurp(path);
    ModelImage img;
    ImageError why;
    REQUIRE(parse_model_image(file.data(), file.size(), &img, &why) == Status::ok);
    std::vector<ImageSection> secs(img.image.sections, img.image.sections + img.image.count);
    const unsigned char extra[4] = {1, 2, 3, 4};
    secs.push_back({image_tag('X', 'T', 'R', 'A'), ImageDtype::bytes, extra, sizeof extra, 0, 0});
    std::vector<unsigned char> b(image_bytes(secs.data(), static_cast<int>(secs.size())));
    REQUIRE(write_image(secs.data(), static_cast<int>(secs.size()), b.data(), b.size()) == b.size());
    io::Checkpoint d;
    CHECK(io::parse_checkpoint("x.ckpt", b.data(), b.size(), &d, &err) == Status::bad_file);
    CHECK(std::string(err.message) == "x.ckpt: checkpoint section 7 has an unknown tag");
  }
  // The fuzzer's seed of a greedy checkpoint in stage 2 of 3, from the independent Python writer.
  io::Checkpoint seed;
  REQUIRE_MESSAGE(io::load_checkpoint(MOTE_SOURCE_DIR "/fuzz/corpus/model_file/greedy.ckpt", &seed, &err) == Status::ok,
                  err.message);
  CHECK(seed.state.stage == 1);
  CHECK(seed.state.flags == io::kTrainFixedLr);
  CHECK(io::same_spec(seed.prev_spec, ae1));
  CHECK(io::same_spec(seed.spec, ae2));
  CHECK(seed.prev_params.size() == param_count(ae1));
  CHECK(seed.history.size() == 3);
}

TEST_CASE("bad checkpoint and resume requests are refused with exit code 2") {
  test::TempDir dir;
  const std::string ck = dir.file("run.ckpt");
  REQUIRE(run(cli::cmd_train, plus(kRun, {"--epochs", "1", "--checkpoint", ck})) == 0);
  CHECK(run(cli::cmd_train, {"--resume", ck, "--epochs", "2", "--batch", "64"}) == 2);
  CHECK(run(cli::cmd_train, {"--resume", ck, "--epochs", "2", "--model", "stacked"}) == 2);
  CHECK(run(cli::cmd_train, {"--resume", dir.file("missing.ckpt"), "--epochs", "2"}) == 2);
  CHECK(run(cli::cmd_train, {"--model", "tied,greedy", "--epochs", "1", "--limit", "64", "--checkpoint", ck}) == 2);
  CHECK(run(cli::cmd_train, {"--model", "tied", "--checkpoint-every", "5"}) == 2);
  // A model file is not a checkpoint.
  const std::string model = dir.file("m.mote");
  REQUIRE(run(cli::cmd_train, plus(kRun, {"--epochs", "1", "--save", model})) == 0);
  CHECK(run(cli::cmd_train, {"--resume", model, "--epochs", "2"}) == 2);
  // The run is already past the epochs asked for.
  CHECK(run(cli::cmd_train, {"--resume", ck, "--epochs", "0"}) == 2);
  // Exactly there: nothing to train, the model is still evaluated and saved.
  CHECK(run(cli::cmd_train, {"--resume", ck, "--epochs", "1", "--save", model}) == 0);
}

TEST_CASE("a non-finite loss, gradient or weight stops training and keeps the last good checkpoint") {
  test::TempDir dir;
  // A checkpoint whose weights hold a NaN: the first step stops, the file is untouched.
  const std::string good = dir.file("good.ckpt"), bad = dir.file("bad.ckpt");
  REQUIRE(run(cli::cmd_train, plus(kRun, {"--epochs", "1", "--checkpoint", good})) == 0);
  io::Checkpoint c = load_ck(good);
  c.params[5] = std::nanf("");
  io::Error err;
  REQUIRE(io::save_checkpoint(bad.c_str(), c, &err) == Status::ok);
  const std::vector<unsigned char> before = slurp(bad);
  CHECK(run(cli::cmd_train, {"--resume", bad, "--epochs", "2", "--checkpoint-every", "1"}) == 1);
  CHECK(slurp(bad) == before);
}

TEST_CASE("an update that overflows a weight stops the epoch at that step") {
  // 1 -> 1 linear, MSE: y = w x + b with x = 1, t = 0. The loss (1e38, summed
  // in double) and the gradient (2e19) are finite; lr 1e20 sends w to -inf.
  const ModelSpec spec = ModelSpec(1).dense(1, Activation::linear);
  const PlanOptions po{.batch = 1, .train = Trainable::all};
  std::vector<std::byte> arena(arena_bytes(spec, po) + kAlign);
  void* base = arena.data();
  std::size_t room = arena.size();
  REQUIRE(std::align(kAlign, arena_bytes(spec, po), base, room));
  Model m;
  REQUIRE(m.bind(spec, po, base, room) == Status::ok);
  const float w[2] = {1e19f, 0.0f};
  m.set_params(w, 2);
  const float x[2] = {1.0f, 1.0f}, t[2] = {0.0f, 0.0f};
  const ConstMatrixView xv{x, 2, 1, 1}, tv{t, 2, 1, 1};
  uint32_t order[2];
  float gather[4];
  int64_t step = 0;
  EpochContext ctx;
  ctx.loss = Loss::mse;
  ctx.optimizer.kind = Optimizer::sgd;
  ctx.optimizer.lr = 1e20f;
  ctx.step = &step;
  ctx.order = order;
  ctx.gather = gather;
  Rng rng(1, 1);
  EpochCursor cursor;
  double loss = 0;
  CHECK(train_epoch_from(m, xv, tv, rng, ctx, &cursor, &loss) == Status::non_finite);
  CHECK(cursor.step == 0);  // the step that overflowed is not counted
  CHECK(step == 1);
  float after[2];
  m.get_params(after, 2);
  CHECK(std::isinf(after[0]));
  // Without the check the overflowing step counts, and only the next one's
  // loss notices (by then the cursor, and a checkpoint, could hold it).
  m.set_params(w, 2);
  ctx.check_weights = false;
  step = 0;
  cursor = EpochCursor{};
  CHECK(train_epoch_from(m, xv, tv, rng, ctx, &cursor, &loss) == Status::non_finite);
  CHECK(cursor.step == 1);
  CHECK(step == 2);
}

TEST_CASE("SIGINT and SIGTERM write a checkpoint and exit cleanly; the run resumes exactly") {
  test::TempDir dir;
  for (int sig : {SIGINT, SIGTERM}) {
    CAPTURE(sig);
    const std::string ck = dir.file("sig.ckpt"), log = dir.file("sig.log");
    std::remove(ck.c_str());
    const pid_t pid =
        spawn(plus(plus({"train"}, kRun), {"--epochs", "1000", "--checkpoint", ck, "--checkpoint-every", "7"}), log);
    REQUIRE_MESSAGE(wait_for_file(ck, 60, pid), text(log));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    kill(pid, sig);
    int killed_by = 0;
    const int rc = wait_exit(pid, &killed_by);
    CHECK(killed_by == 0);
    CHECK(rc == 128 + sig);
    CHECK(text(log).find("continue with --resume " + ck) != std::string::npos);
    const io::Checkpoint c = load_ck(ck);
    const std::string epochs = std::to_string(c.state.epochs_done + 1);
    const std::string a = dir.file("a.mote"), b = dir.file("b.mote");
    REQUIRE(run(cli::cmd_train, {"--resume", ck, "--epochs", epochs, "--save", a}) == 0);
    REQUIRE(run(cli::cmd_train, plus(kRun, {"--epochs", epochs, "--save", b})) == 0);
    CHECK(slurp(a) == slurp(b));
  }
}

TEST_CASE("50 SIGKILLs at random moments never leave a checkpoint that fails to load") {
  test::TempDir dir;
  const std::string ck = dir.file("kill.ckpt"), log = dir.file("kill.log");
  // How long until the first checkpoint appears (data loading dominates): the
  // kills then land uniformly in [0.5, 3] x that after each start, i.e. while
  // loading, while training, and while saving (every step saves).
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = spawn(plus(plus({"train"}, kRun),
                         {"--limit", "320", "--epochs", "100000", "--checkpoint", ck, "--checkpoint-every", "1"}),
                    log);
  REQUIRE_MESSAGE(wait_for_file(ck, 120, pid), text(log));
  const double startup = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  kill(pid, SIGKILL);
  wait_exit(pid);
  Rng rng(20240601, 3);
  int loaded = 0, before_training = 0;
  int64_t last_step = 0;
  // 50 as the issue asks; the sanitizer stage (every start is slow there) checks memory, with 15;
  // under qemu-user (every start decodes the data set in emulation), 8.
  const int kills = kEmulated ? 8 : kSanitized ? 15 : 50;
  for (int i = 0; i < kills; ++i) {
    CAPTURE(i);
    pid = spawn({"train", "--resume", ck, "--epochs", "100000", "--checkpoint-every", "1"}, log);
    const double delay = startup * (0.5 + 2.5 * rng.uniform());
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    kill(pid, SIGKILL);
    int sig = 0;
    wait_exit(pid, &sig);
    REQUIRE(exists(ck));  // the old file or the new one, never none
    io::Checkpoint c;
    io::Error err;
    const Status s = io::load_checkpoint(ck.c_str(), &c, &err);
    REQUIRE_MESSAGE(s == Status::ok, "after kill ", i, " at ", delay, " s: ", err.message);
    ++loaded;
    if (c.state.global_step == last_step) ++before_training;
    last_step = c.state.global_step;
  }
  // A kill inside a save leaves its temporary file until the next successful
  // save of the checkpoint, which deletes those of dead processes: one more
  // save leaves none.
  const int torn = count_temporaries(dir.path);
  MESSAGE("startup ", startup, " s; ", kills, " kills, ", loaded, " checkpoints loaded, ", before_training,
          " kills before a new save, ", torn, " temporaries of killed saves still there; the chain reached step ",
          last_step);
  CHECK(loaded == kills);
  CHECK(last_step > 0);
  REQUIRE(run_exe({"train", "--resume", ck, "--epochs", "100000", "--checkpoint-every", "1", "--stop-after", "1"},
                  log) == 0);
  CHECK(count_temporaries(dir.path) == 0);
}

TEST_CASE("a successful save deletes the temporaries of killed saves, and only those") {
  test::TempDir dir;
  const std::string path = dir.file("m.ckpt");
  // A pid that is no live process: a child that has exited and been reaped.
  pid_t dead = -1;
  char true_exe[] = "true";
  char* argv[] = {true_exe, nullptr};
  REQUIRE(posix_spawnp(&dead, "true", nullptr, nullptr, argv, environ) == 0);
  wait_exit(dead);
  REQUIRE(kill(dead, 0) == -1);
  const std::string stale = path + ".tmp." + std::to_string(dead);
  const std::vector<std::string> kept = {
      path + ".tmp." + std::to_string(getppid()),  // live: another process (this pid's own is the save's)
      path + ".tmp." + std::to_string(dead) + "x",       // not a pid
      path + ".tmp.0" + std::to_string(dead),            // not the writer's spelling of a pid
      path + ".tmp.99999999999",                         // beyond any pid
      dir.file(("other.ckpt.tmp." + std::to_string(dead)).c_str()),  // another file's
      path + ".bak",
  };
  io::Error err;
  for (const std::string& f : kept) REQUIRE(io::write_file_atomic(f.c_str(), "k", 1, &err) == Status::ok);
  // The writes above cleaned up as they went; plant the stale one last.
  const int fd = open(stale.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  close(fd);
  // A failed save deletes nothing.
  CHECK(io::write_file_atomic((path + "/not-a-folder").c_str(), "x", 1, &err) == Status::io_error);
  CHECK(exists(stale));
  REQUIRE(io::write_file_atomic(path.c_str(), "new", 3, &err) == Status::ok);
  CHECK_FALSE(exists(stale));
  for (const std::string& f : kept) {
    CAPTURE(f);
    CHECK(exists(f));
  }
  CHECK(text(path) == "new");
}

TEST_CASE("weights exported to .npz, loaded by NumPy and imported back give the same test loss") {
  test::TempDir dir;
  const std::string model = dir.file("m.mote"), npz = dir.file("w.npz"), rep = dir.file("r.json");
  REQUIRE(run(cli::cmd_train, plus(kRun, {"--epochs", "1", "--save", model})) == 0);
  const std::string images = std::to_string(kImages);
  REQUIRE(run(cli::cmd_eval, {"--load", model, "--limit", images, "--report", rep}) == 0);
  const std::string want = text(rep);
  const std::string test_loss = want.substr(want.find("\"test_loss\""), 40);
  io::LoadedModel orig;
  io::Error err;
  REQUIRE(io::load_model(model.c_str(), &orig, &err) == Status::ok);
  auto same_model = [&](const std::string& path) {
    io::LoadedModel m;
    REQUIRE_MESSAGE(io::load_model(path.c_str(), &m, &err) == Status::ok, err.message);
    CHECK(m.params == orig.params);
    const std::string r2 = dir.file("r2.json");
    REQUIRE(run(cli::cmd_eval, {"--load", path, "--limit", images, "--report", r2}) == 0);
    const std::string got = text(r2);
    CHECK(got.substr(got.find("\"test_loss\""), 40) == test_loss);
  };
  for (const char* layout : {"keras", "pytorch"}) {
    CAPTURE(layout);
    REQUIRE(run(cli::cmd_export, {"--load", model, "--npz", npz, "--layout", layout}) == 0);
    const std::string back = dir.file("back.mote");
    REQUIRE(run(cli::cmd_import, {"--npz", npz, "--model", "tied", "--layout", layout, "--save", back}) == 0);
    same_model(back);
  }
  if (std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) {
    MESSAGE("SKIPPED the NumPy leg: /usr/bin/python3 with numpy is not installed (apt-get install python3-numpy); "
            "the export -> import round trip above is the equivalent check");
    return;
  }
  REQUIRE(run(cli::cmd_export, {"--load", model, "--npz", npz}) == 0);
  // NumPy loads the keras-layout list, checks the shapes Keras' get_weights()
  // gives for the tied model, and saves it back compressed, and transposed
  // (a PyTorch state_dict's nn.Linear weights) in float64.
  const std::string keras = dir.file("keras.npz"), torch = dir.file("torch.npz"), script = dir.file("np.py");
  FILE* f = std::fopen(script.c_str(), "w");
  REQUIRE(f);
  std::fprintf(f,
               "import sys, numpy as np\n"
               "d = np.load(sys.argv[1])\n"
               "w = [d['arr_%%d' %% i] for i in range(len(d.files))]\n"
               "assert [a.shape for a in w] == [(784, 100), (100,), (100, 30), (30,), (100,), (784,)], [a.shape for a in w]\n"
               "assert all(a.dtype == np.float32 and np.isfinite(a).all() for a in w)\n"
               "np.savez_compressed(sys.argv[2], *w)\n"
               "np.savez(sys.argv[3], *[(a.T if a.ndim == 2 else a).astype(np.float64) for a in w])\n");
  std::fclose(f);
  REQUIRE(std::system(("/usr/bin/python3 " + script + " " + npz + " " + keras + " " + torch).c_str()) == 0);
  const std::string mk = dir.file("k.mote"), mt = dir.file("t.mote");
  REQUIRE(run(cli::cmd_import, {"--npz", keras, "--model", "tied", "--save", mk}) == 0);
  same_model(mk);
  CHECK(run(cli::cmd_import, {"--npz", torch, "--model", "tied", "--save", mt}) == 2);  // kernels are [out, in]
  REQUIRE(run(cli::cmd_import, {"--npz", torch, "--model", "tied", "--layout", "pytorch", "--save", mt}) == 0);
  same_model(mt);
}

TEST_CASE("the CLI names the file and the fault, exit code 2, never a crash") {
  test::TempDir dir;
  const std::string log = dir.file("log");
  const std::string junk = dir.file("junk.bin"), model = dir.file("m.mote"), npz = dir.file("w.npz");
  io::Error err;
  const std::string not_a_model("MOTE\2\0\1\0 this is not a model", 29);
  REQUIRE(io::write_file_atomic(junk.c_str(), not_a_model.data(), not_a_model.size(), &err) == Status::ok);
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const Case cases[] = {
      {{"eval", "--load", junk}, junk + ": "},
      {{"eval", "--load", dir.file("none.mote")}, "none.mote: cannot open"},
      {{"export", "--load", junk, "--npz", npz}, junk + ": "},
      {{"import", "--npz", junk, "--model", "tied", "--save", model}, junk + ": not a zip archive"},
      {{"import", "--npz", npz, "--model", "huge", "--save", model}, "--model: expected stacked or tied"},
      {{"import", "--npz", npz, "--model", "tied"}, "are required"},
      {{"export", "--load", junk, "--npz", npz, "--layout", "jax"}, "--layout: expected keras or pytorch"},
      {{"train", "--resume", junk}, junk + ": "},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args[0]);
    CAPTURE(c.says);
    CHECK(run_exe(c.args, log) == 2);
    CHECK(text(log).find(c.says) != std::string::npos);
  }
  // An .npz with the wrong shapes names the array and what it needed.
  REQUIRE(run_exe({"train", "--model", "stacked", "--epochs", "1", "--limit", "64", "--save", model}, log) == 0);
  REQUIRE(run_exe({"export", "--load", model, "--npz", npz}, log) == 0);
  CHECK(run_exe({"import", "--npz", npz, "--model", "tied", "--save", dir.file("t.mote")}, log) == 2);
  CHECK(text(log).find("holds 8 arrays, the tied model has 6") != std::string::npos);
  // A flipped byte anywhere in the model: refused, never a crash.
  std::vector<unsigned char> good = slurp(model);
  Rng rng(99, 1);
  for (int i = 0; i < 20; ++i) {
    std::vector<unsigned char> b = good;
    b[rng.below(static_cast<uint32_t>(b.size()))] ^= static_cast<unsigned char>(1 + rng.below(255));
    REQUIRE(io::write_file_atomic(junk.c_str(), b.data(), b.size(), &err) == Status::ok);
    const int rc = run_exe({"eval", "--load", junk, "--limit", "64"}, log);
    CHECK((rc == 2 || b == good || text(log).find("valid loss") != std::string::npos));
  }
}
