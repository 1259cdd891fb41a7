// mote eval: a saved model on the test split (and the validation split).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/report.h"
#include "io/checkpoint.h"
#include "io/idx.h"
#include "io/model_file.h"
#include "mote/model.h"

namespace mote::cli {

namespace {
constexpr FlagSpec kFlags[] = {
    {"load", true, "the model file to evaluate (required)"},
    {"limit", true, "use at most N images of each split"},
    {"batch", true, "evaluation batch (default 256)"},
    {"data", true, "folder of the Fashion-MNIST .gz files"},
    {"report", true, "write a JSON report to FILE"},
    {"help", false, "show this help"},
};
constexpr int kNumFlags = sizeof kFlags / sizeof kFlags[0];
}  // namespace

int cmd_eval(int argc, char** argv) {
  Args a;
  if (!a.parse("eval", argc, argv, kFlags, kNumFlags)) return kExitBadInput;
  if (a.has("help")) {
    print_usage("eval", "--load FILE [options]", kFlags, kNumFlags);
    return kExitOk;
  }
  if (!a.has("load")) {
    std::fprintf(stderr, "mote eval: --load FILE is required\n");
    return kExitBadInput;
  }
  int64_t limit = 0, batch = 256;
  if (!a.integer("limit", 1, INT32_MAX, &limit) || !a.integer("batch", 1, 65536, &batch)) return kExitBadInput;
  // A model file or a checkpoint: validated whole (every CRC32) before the
  // arena is sized, then streamed into it with no other heap use.
  const char* path = a.str("load", "");
  io::Error err;
  ModelSpec spec;
  if (io::probe_model_file(path, &spec, &err) != Status::ok) {
    std::fprintf(stderr, "mote eval: %s\n", err.message);
    return kExitBadInput;
  }
  if (spec.input != 784 || spec.output() != 784) {
    // A greedy checkpoint holds the model of the stage in progress: AE2 in stage 2 of 3.
    io::Checkpoint ck;
    io::Error why;
    if (io::load_checkpoint(path, &ck, &why) == Status::ok && io::schedule_stages(ck.state.model) > 1) {
      std::fprintf(stderr,
                   "mote eval: %s: a checkpoint of %s stage %d of %d, whose model (%d -> %d, trained on the first "
                   "stage's codings) is not a 784 -> 784 autoencoder; resume it past the stage, or evaluate a "
                   "checkpoint of another stage\n",
                   path, ck.state.model, ck.state.stage + 1, io::schedule_stages(ck.state.model), spec.input,
                   spec.output());
      return kExitBadInput;
    }
    std::fprintf(stderr, "mote eval: %s: the model maps %d -> %d values; Fashion-MNIST needs 784 -> 784\n", path,
                 spec.input, spec.output());
    return kExitBadInput;
  }
  PlanOptions po;
  po.batch = static_cast<int32_t>(batch);
  po.train = Trainable::none;
  ArenaBuffer buf;
  Model m;
  if (!buf.allocate(arena_bytes(spec, po))) return fail_status("eval", "arena", Status::arena_too_small);
  if (io::load_model_into(path, po, buf.data, buf.size, &m, &err) != Status::ok) {
    std::fprintf(stderr, "mote eval: %s\n", err.message);
    return err.status == Status::bad_file ? kExitBadInput : kExitFailure;
  }
  Status s = Status::ok;

  io::Dataset data;
  if (io::load_fashion_mnist(a.str("data", io::kDefaultDataDir), static_cast<int>(limit), &data, &err) != Status::ok) {
    std::fprintf(stderr, "mote eval: %s\n", err.message);
    return kExitBadInput;
  }
  const Loss loss = m.layer(m.num_layers() - 1).spec.act == Activation::sigmoid ? Loss::binary_crossentropy : Loss::mse;
  EvalResult valid, test;
  s = evaluate(m, data.valid(), {}, loss, &valid);
  if (s == Status::ok) s = evaluate(m, data.test.view(), {}, loss, &test);
  if (s != Status::ok) return fail_status("eval", "evaluate", s);
  std::printf("model %s: %zu params, arena %zu bytes (batch %lld, inference)\n", a.str("load", ""), m.param_count(),
              m.arena_used(), static_cast<long long>(batch));
  std::printf("valid loss %.4f  valid rounded acc %.4f\n", valid.loss, valid.rounded_accuracy);
  std::printf("test  loss %.4f  test  rounded acc %.4f\n", test.loss, test.rounded_accuracy);
  if (a.has("report")) {
    Report r;
    r.add("model", a.str("load", ""));
    r.add("params", static_cast<int64_t>(m.param_count()));
    r.add("param_bytes", static_cast<int64_t>(m.param_count() * sizeof(float)));
    r.add("arena_bytes", static_cast<int64_t>(m.arena_used()));
    r.add("valid_loss", valid.loss);
    r.add("valid_rounded_accuracy", valid.rounded_accuracy);
    r.add("test_loss", test.loss);
    r.add("test_rounded_accuracy", test.rounded_accuracy);
    if (r.write(a.str("report", ""), &err) != Status::ok) {
      std::fprintf(stderr, "mote eval: %s\n", err.message);
      return kExitFailure;
    }
  }
  return kExitOk;
}

}  // namespace mote::cli
