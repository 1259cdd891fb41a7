// The loss falls on a small subset of the real Fashion-MNIST data.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "emulation.h"
#include "io/idx.h"
#include "mote/train.h"
#include "test_util.h"

using namespace mote;

TEST_CASE("Fashion-MNIST loads with the reference split") {
  io::Dataset d;
  io::Error err;
  REQUIRE_MESSAGE(io::load_fashion_mnist(io::kDefaultDataDir, 0, &d, &err) == Status::ok, err.message);
  CHECK(d.train_rows == 55000);
  CHECK(d.valid_rows == 5000);
  CHECK(d.test.count == 10000);
  CHECK(d.train_file.width() == 784);
  REQUIRE(d.train_file.bytes.size() == 60000u * 784u);  // the training file stays bytes
  CHECK(d.train_file.pixels.empty());
  uint8_t lo = 255, hi = 0;
  for (uint8_t p : d.train_file.bytes) {
    lo = p < lo ? p : lo;
    hi = p > hi ? p : hi;
  }
  CHECK(lo == 0);
  CHECK(hi == 255);
  // The validation rows are the last 5,000 of the file, as floats / 255.
  const ConstMatrixView v = d.valid();
  REQUIRE(v.rows == 5000);
  int wrong = 0;
  for (int r = 0; r < v.rows; r += 97)
    for (int j = 0; j < 784; ++j)
      wrong += v.at(r, j) != static_cast<float>(d.train_file.byte_view(io::Dataset::kTrainSplit).at(r, j)) / 255.0f;
  CHECK(wrong == 0);
}

TEST_CASE("the tied and stacked losses fall on 2,000 real images (600 under an emulator)") {
  // Under an emulator (qemu-user in the ARM stage), 600 images: the same
  // three epochs and checks, a third of the floating point.
  const int rows = test::light() ? 600 : 2000;
  MESSAGE(rows, " images, 3 epochs");
  io::Dataset d;
  io::Error err;
  REQUIRE_MESSAGE(io::load_fashion_mnist(io::kDefaultDataDir, rows, &d, &err) == Status::ok, err.message);
  for (const ModelSpec* spec : {&reference::tied, &reference::stacked}) {
    test::BoundModel bm(*spec, PlanOptions{.batch = 32});
    bm.model.init_glorot(42);
    EvalResult before, after;
    REQUIRE(evaluate(bm.model, d.valid(), {}, Loss::binary_crossentropy, &before) == Status::ok);
    Rng rng(42, 7);
    std::vector<uint32_t> order(static_cast<std::size_t>(d.train_rows));
    std::vector<float> gather(epoch_gather_floats(bm.model, false));
    int64_t step = 0;
    EpochContext ctx{.loss = Loss::binary_crossentropy, .optimizer = {.lr = 1.5f}, .step = &step, .order = order.data(), .gather = gather.data()};
    double first = 0, last = 0;
    for (int e = 0; e < 3; ++e) {
      REQUIRE(train_epoch(bm.model, d.train(), rng, ctx, &last) == Status::ok);  // byte rows
      if (e == 0) first = last;
    }
    REQUIRE(evaluate(bm.model, d.valid(), {}, Loss::binary_crossentropy, &after) == Status::ok);
    const std::string name = spec == &reference::tied ? "tied" : "stacked";
    MESSAGE(name, ": valid loss ", before.loss, " -> ", after.loss,
            ", rounded accuracy ", before.rounded_accuracy, " -> ", after.rounded_accuracy);
    CHECK(last < first);
    CHECK(after.loss < before.loss - 0.1);  // 0.69 untrained -> about 0.40 after three small epochs
    CHECK(after.rounded_accuracy > before.rounded_accuracy);
  }
}
