// The mote tool's commands, run in-process on a small real subset.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli_test_util.h"
#include "tmp_dir.h"

using namespace mote;

namespace {

using test::read_file;
using test::run_command;

double json_number(const std::string& json, const char* key) {
  const std::string k = std::string("\"") + key + "\": ";
  const std::size_t at = json.find(k);
  REQUIRE_MESSAGE(at != std::string::npos, "missing key ", key);
  return std::strtod(json.c_str() + at + k.size(), nullptr);
}

}  // namespace

TEST_CASE("bad arguments exit with 2") {
  using cli::cmd_train;
  CHECK(run_command(cmd_train, {"--bogus"}) == 2);
  CHECK(run_command(cmd_train, {"--epochs", "ten"}) == 2);
  CHECK(run_command(cmd_train, {"--epochs", "-1"}) == 2);
  CHECK(run_command(cmd_train, {"--batch", "0"}) == 2);
  CHECK(run_command(cmd_train, {"--lr", "nan"}) == 2);
  CHECK(run_command(cmd_train, {"--model", "resnet"}) == 2);
  CHECK(run_command(cmd_train, {"--model", "tied,"}) == 2);
  CHECK(run_command(cmd_train, {"--optimizer", "rmsprop"}) == 2);
  CHECK(run_command(cmd_train, {"--epochs"}) == 2);  // missing value
  CHECK(run_command(cmd_train, {"stray"}) == 2);
  CHECK(run_command(cmd_train, {"--model", "tied,stacked", "--save", "x"}) == 2);
  CHECK(run_command(cmd_train, {"--data", "/nonexistent/dir", "--limit", "10"}) == 2);
  CHECK(run_command(cli::cmd_eval, {}) == 2);  // --load is required
  CHECK(run_command(cli::cmd_eval, {"--load", "/nonexistent/model.mote"}) == 2);
  CHECK(run_command(cli::cmd_info, {"--verbose"}) == 2);
  CHECK(run_command(cli::cmd_info, {}) == 0);
  CHECK(run_command(cmd_train, {"--help"}) == 0);
  // MOTE_ISA (main() checks it before any command runs)
  CHECK(cli::check_isa("bogus") == 2);
  CHECK(cli::check_isa("scalar") == 0);  // every build and CPU runs the scalar set
  CHECK(cli::check_isa(nullptr) == 0);
  CHECK(cli::check_isa("") == 0);
}

TEST_CASE("train, save, report, then eval the saved model") {
  test::TempDir dir;
  const std::string model = dir.file("tied.mote"), report = dir.file("train.json"), eval = dir.file("eval.json");
  REQUIRE(run_command(cli::cmd_train, {"--model", "tied", "--epochs", "2", "--limit", "600", "--save", model, "--report", report}) == 0);
  const std::string tr = read_file(report);
  for (const char* key : {"\"model\": \"tied\"", "\"params\": 82414", "\"param_bytes\": 329656", "\"arena_bytes\"",
                          "\"epochs\": 2", "\"train_loss\"", "\"valid_loss\"", "\"valid_rounded_accuracy\"",
                          "\"test_loss\"", "\"test_rounded_accuracy\"", "\"seconds_per_epoch\""})
    CHECK_MESSAGE(tr.find(key) != std::string::npos, key);
  CHECK(json_number(tr, "valid_loss") < 0.7);  // better than the untrained 0.69+
  CHECK(json_number(tr, "seconds_per_epoch") > 0);
  REQUIRE(run_command(cli::cmd_eval, {"--load", model, "--limit", "600", "--report", eval}) == 0);
  const std::string ev = read_file(eval);
  // the saved weights give back exactly the losses the training run measured
  CHECK(json_number(ev, "test_loss") == doctest::Approx(json_number(tr, "test_loss")).epsilon(1e-5));
  CHECK(json_number(ev, "valid_loss") == doctest::Approx(json_number(tr, "valid_loss")).epsilon(1e-5));
  CHECK(json_number(ev, "params") == 82414);

  SUBCASE("a corrupt model file is refused with exit 2") {
    std::string bytes = read_file(model);
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x40);
    FILE* f = std::fopen(model.c_str(), "wb");
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    CHECK(run_command(cli::cmd_eval, {"--load", model, "--limit", "100"}) == 2);
  }
}

TEST_CASE("greedy layer-wise training runs its three stages") {
  test::TempDir dir;
  const std::string report = dir.file("greedy.json");
  REQUIRE(run_command(cli::cmd_train, {"--model", "greedy", "--epochs", "1", "--limit", "400", "--report", report}) == 0);
  const std::string r = read_file(report);
  CHECK(r.find("\"params\": 163814") != std::string::npos);  // the sandwich is a stacked model
  CHECK(json_number(r, "valid_loss") < 0.7);
}
