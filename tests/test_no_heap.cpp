// No heap call happens in inference or training steps, and a whole training
// run makes as many heap calls for 3 epochs of 320 images as for 1 of 64
// (2 epochs of 128 under an emulator: 8 steps per stage against 2).
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "emulation.h"
#include "heap_counter.h"
#include "mote/train.h"
#include "test_util.h"

using namespace mote;

TEST_CASE("the counter sees heap calls (so a zero below means something)") {
  const long before = test::heap_calls();
  auto* v = new std::vector<int>(100);
  delete v;
  CHECK(test::heap_calls() - before >= 2);
}

TEST_CASE("forward, train_step, evaluate and train_epoch (float and byte rows) make no heap call") {
  for (const ModelSpec* spec : {&reference::tied, &reference::stacked}) {
    for (const Optimizer opt : {Optimizer::sgd, Optimizer::adam}) {
      for (const int batch : {1, 32}) {
        CAPTURE(batch);
        test::BoundModel bm(*spec, PlanOptions{.batch = batch, .optimizer = opt});
        bm.model.init_glorot(1);
        const int rows = 3 * batch + 1;
        const auto x = test::random_vector(static_cast<std::size_t>(rows) * 784, 2, 0.0f, 1.0f);
        std::vector<uint8_t> bytes(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) bytes[i] = static_cast<uint8_t>(x[i] * 255.0f);
        std::vector<uint32_t> order(static_cast<std::size_t>(rows));
        std::vector<float> gather(epoch_gather_floats(bm.model, false));
        int64_t step = 0;
        EpochContext ctx{.optimizer = {.kind = opt, .lr = 0.01f}, .step = &step, .order = order.data(), .gather = gather.data()};
        Rng rng(3);
        const ConstMatrixView data{x.data(), rows, 784, 784};
        const ConstMatrixView xb = data.rows_from(0, batch);
        ConstMatrixView y;
        EvalResult ev;
        double loss = 0;
        float step_loss = 0;

        const long before = test::heap_calls();
        REQUIRE(bm.model.forward(xb, &y) == Status::ok);
        for (int i = 0; i < 5; ++i)
          REQUIRE(train_step(bm.model, xb, xb, Loss::binary_crossentropy, ctx.optimizer, i + 1, &step_loss) == Status::ok);
        REQUIRE(evaluate(bm.model, data, {}, Loss::binary_crossentropy, &ev) == Status::ok);
        REQUIRE(train_epoch(bm.model, data, {}, rng, ctx, &loss) == Status::ok);
        REQUIRE(train_epoch(bm.model, ByteMatrixView{bytes.data(), rows, 784, 784}, rng, ctx, &loss) == Status::ok);
        CHECK(test::heap_calls() - before == 0);
      }
    }
  }
}

namespace {
long heap_calls_of_training_run(const char* model, const char* epochs, const char* limit) {
  std::vector<std::string> args = {"--model", model, "--epochs", epochs, "--limit", limit};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  const long before = test::heap_calls();
  const int rc = cli::cmd_train(static_cast<int>(argv.size()), argv.data());
  const long calls = test::heap_calls() - before;
  REQUIRE(rc == 0);
  return calls;
}
}  // namespace

TEST_CASE("a whole training run's heap calls do not grow with the number of steps") {
  heap_calls_of_training_run("tied", "1", "64");  // warm-up: stdio buffers and the like, once per process
  const bool emu = test::light();
  const char* large_epochs = emu ? "2" : "3";
  const char* large_limit = emu ? "128" : "320";
  const int large_steps = emu ? 8 : 30;
  for (const char* model : {"tied", "stacked", "greedy"}) {
    CAPTURE(model);
    const long small = heap_calls_of_training_run(model, "1", "64");                     // 2 steps
    const long large = heap_calls_of_training_run(model, large_epochs, large_limit);  // 30 (8) steps per stage
    std::printf("%s: %ld heap calls for 2 steps, %ld for %d steps per stage\n", model, small, large, large_steps);
    CHECK(small == large);
  }
}
