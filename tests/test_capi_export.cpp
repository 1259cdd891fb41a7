// mote export --c-header, in process: the header holds the spec, the exact
// parameters and the arena sizes; bad input is refused with exit 2 and no file.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "io/model_file.h"
#include "mote/spec.h"
#include "test_util.h"
#include "cli_test_util.h"
#include "tmp_dir.h"

using namespace mote;

namespace {

int run(std::vector<std::string> args) { return test::run_command(cli::cmd_export, std::move(args)); }

using test::read_file;

bool exists(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f) std::fclose(f);
  return f != nullptr;
}

constexpr ModelSpec kSmall = ModelSpec(12).dense(5, Activation::selu).dense_transpose(0, Activation::sigmoid);

std::string save_small(const test::TempDir& dir, std::vector<float>* params, const char* name = "small.mote") {
  *params = test::random_vector(param_count(kSmall), 2024, -3.0f, 3.0f);
  (*params)[0] = 1.0f;                                    // integral: needs ".0f"
  (*params)[1] = std::numeric_limits<float>::denorm_min();  // extremes round-trip too
  (*params)[2] = -std::numeric_limits<float>::max();
  const std::string path = dir.file(name);
  io::Error err;
  REQUIRE(io::save_model(path.c_str(), kSmall, params->data(), params->size(), &err) == Status::ok);
  return path;
}

}  // namespace

TEST_CASE("the header holds the spec, the exact parameters and the arena sizes") {
  test::TempDir dir;
  std::vector<float> params;
  const std::string model = save_small(dir, &params);
  const std::string out = dir.file("small_net.h");
  REQUIRE(run({"--load", model, "--c-header", out}) == 0);
  const std::string h = read_file(out);
  // Default name from the file name.
  CHECK(h.find("#define SMALL_NET_PARAM_COUNT 77") != std::string::npos);
  CHECK(h.find("static const mote_spec small_net_spec = {12, 2, {") != std::string::npos);
  CHECK(h.find("{MOTE_DENSE, MOTE_SELU, -1, 5}") != std::string::npos);
  CHECK(h.find("{MOTE_DENSE_TRANSPOSE, MOTE_SIGMOID, 0, 12}") != std::string::npos);
  PlanOptions o;
  o.batch = 1;
  o.train = Trainable::biases;
  o.external_weights = true;
  CHECK(h.find("#define SMALL_NET_ARENA_BYTES_BIASES " + std::to_string(arena_bytes(kSmall, o)) + "\n") !=
        std::string::npos);
  o.train = Trainable::none;
  CHECK(h.find("#define SMALL_NET_ARENA_BYTES_INFERENCE " + std::to_string(arena_bytes(kSmall, o)) + "\n") !=
        std::string::npos);

  // Read the literals back: every float is bit-exact.
  std::size_t at = h.find("small_net_params[SMALL_NET_PARAM_COUNT] MOTE_WEIGHTS_ATTR = {");
  REQUIRE(at != std::string::npos);
  at = h.find('{', at) + 1;
  const char* p = h.c_str() + at;
  for (std::size_t i = 0; i < params.size(); ++i) {
    char* end = nullptr;
    const float v = std::strtof(p, &end);
    REQUIRE(end != p);
    CHECK_MESSAGE(std::memcmp(&v, &params[i], sizeof v) == 0, "parameter ", i);
    REQUIRE(*end == 'f');
    p = end + 1;
    while (*p == ',' || *p == ' ' || *p == '\n') ++p;
  }
  CHECK(*p == '}');
  CHECK(h.find("1.0f") != std::string::npos);
}

TEST_CASE("--name sets the prefix and must be a C identifier") {
  test::TempDir dir;
  std::vector<float> params;
  const std::string model = save_small(dir, &params);
  const std::string out = dir.file("x.h");
  REQUIRE(run({"--load", model, "--c-header", out, "--name", "tied_fw"}) == 0);
  CHECK(read_file(out).find("static const float tied_fw_params[TIED_FW_PARAM_COUNT]") != std::string::npos);
  const std::string bad = dir.file("bad.h");
  CHECK(run({"--load", model, "--c-header", bad, "--name", "1abc"}) == 2);
  CHECK(run({"--load", model, "--c-header", bad, "--name", "a-b"}) == 2);
  CHECK(run({"--load", model, "--c-header", bad, "--name", ""}) == 2);
  CHECK_FALSE(exists(bad));
}

TEST_CASE("bad input: exit 2, one line, no file written") {
  test::TempDir dir;
  const std::string out = dir.file("out.h");
  CHECK(run({"--c-header", out}) == 2);                                      // no --load
  CHECK(run({"--load", dir.file("missing.mote"), "--c-header", out}) == 2);  // no such file
  CHECK(run({"--load", "x", "--c-header", out, "--bogus"}) == 2);            // unknown flag
  CHECK(run({"--load"}) == 2);                                               // missing value
  {
    const std::string junk = dir.file("junk.mote");
    FILE* f = std::fopen(junk.c_str(), "wb");
    REQUIRE(f);
    std::fputs("not a model", f);
    std::fclose(f);
    CHECK(run({"--load", junk, "--c-header", out}) == 2);
  }
  CHECK_FALSE(exists(out));
  // A header that exists is not replaced by a failed export.
  {
    FILE* f = std::fopen(out.c_str(), "wb");
    REQUIRE(f);
    std::fputs("keep me", f);
    std::fclose(f);
    CHECK(run({"--load", dir.file("missing.mote"), "--c-header", out}) == 2);
    CHECK(read_file(out) == "keep me");
  }
}
