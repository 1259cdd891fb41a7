// The model format (docs/model-format.md): round trips, every kind of bad
// file refused with a message naming the field, loading into an arena from
// memory and from a file with no heap, checkpoints, atomic saves.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "io/model_file.h"
#include "mote/model_image.h"
#include "test_util.h"
#include "tmp_dir.h"

using namespace mote;

// Counts operator new calls while `g_counting` is set (the file loader must make none).
namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_news{0};
}  // namespace
void* operator new(std::size_t n) {
  if (g_counting) ++g_news;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

constexpr ModelSpec kSmallTied = ModelSpec(6)
                                     .dense(4, Activation::selu)
                                     .dense(2, Activation::selu)
                                     .dense_transpose(1, Activation::selu)
                                     .dense_transpose(0, Activation::sigmoid);

std::vector<unsigned char> encode(const ModelSpec& spec, const std::vector<float>& params) {
  unsigned char layers[kLayerTableMaxBytes];
  const std::size_t lb = encode_layer_table(spec, layers);
  REQUIRE(lb > 0);
  const ImageSection s[] = {{kTagLayers, ImageDtype::bytes, layers, lb, 0, 0},
                            {kTagParams, ImageDtype::f32, reinterpret_cast<const unsigned char*>(params.data()),
                             params.size() * 4, 0, 0}};
  std::vector<unsigned char> b(image_bytes(s, 2));
  REQUIRE(write_image(s, 2, b.data(), b.size()) == b.size());
  return b;
}

// Raw sections, for files whose layer table is wrong but whose CRCs are right.
std::vector<unsigned char> encode_raw(const std::vector<unsigned char>& layers, std::size_t param_floats,
                                      ImageDtype param_dtype = ImageDtype::f32) {
  static std::vector<unsigned char> zeros;
  zeros.assign(param_floats * 4, 0);
  const ImageSection s[] = {{kTagLayers, ImageDtype::bytes, layers.data(), layers.size(), 0, 0},
                            {kTagParams, param_dtype, zeros.data(), zeros.size(), 0, 0}};
  std::vector<unsigned char> b(image_bytes(s, 2));
  REQUIRE(write_image(s, 2, b.data(), b.size()) == b.size());
  return b;
}

std::vector<unsigned char> layer_bytes(const ModelSpec& spec) {
  unsigned char l[kLayerTableMaxBytes];
  const std::size_t n = encode_layer_table(spec, l);
  return std::vector<unsigned char>(l, l + n);
}
void put32(std::vector<unsigned char>& b, std::size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<unsigned char>(v >> (8 * i));
}

std::string parse_error(const std::vector<unsigned char>& b) {
  ModelImage img;
  ImageError why;
  if (parse_model_image(b.data(), b.size(), &img, &why) == Status::ok) return "ok";
  return why.what;
}

bool write_bytes(const std::string& path, const void* p, std::size_t n) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(p, 1, n, f) == n;
  return std::fclose(f) == 0 && ok;
}

}  // namespace

TEST_CASE("CRC-32 is zlib's") {
  const std::vector<float> v = test::random_vector(1000, 1);
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  CHECK(crc32_update(0, p, 4000) == static_cast<uint32_t>(crc32(0L, p, 4000)));
  CHECK(crc32_update(crc32_update(0, p, 1234), p + 1234, 4000 - 1234) == crc32_update(0, p, 4000));
  CHECK(crc32_update(0, "123456789", 9) == 0xCBF43926u);  // the standard check value
}

TEST_CASE("save and load round-trip the reference models exactly") {
  test::TempDir dir;
  for (const ModelSpec& spec : {reference::tied, reference::stacked, reference::greedy_ae2}) {
    const std::vector<float> p = test::random_vector(param_count(spec), 7);
    const std::string path = dir.file("m.mote");
    io::Error err;
    REQUIRE(io::save_model(path.c_str(), spec, p.data(), p.size(), &err) == Status::ok);
    io::LoadedModel lm;
    REQUIRE_MESSAGE(io::load_model(path.c_str(), &lm, &err) == Status::ok, err.message);
    CHECK(std::memcmp(&lm.spec, &spec, sizeof spec) == 0);
    CHECK(lm.params == p);
    ModelSpec probed;
    REQUIRE(io::probe_model_file(path.c_str(), &probed, &err) == Status::ok);
    CHECK(std::memcmp(&probed, &spec, sizeof spec) == 0);
    struct stat st;
    CHECK(stat((path + ".tmp." + std::to_string(getpid())).c_str(), &st) != 0);  // no temporary left behind
  }
}

TEST_CASE("a model parsed from memory runs like the one it was saved from") {
  const std::vector<float> p = test::random_vector(param_count(reference::tied), 3, -0.2f, 0.2f);
  const std::vector<unsigned char> file = encode(reference::tied, p);
  // An odd address: the floats are unaligned, as they may be in flash.
  std::vector<unsigned char> shifted(file.size() + 1);
  std::memcpy(shifted.data() + 1, file.data(), file.size());
  ModelImage img;
  ImageError why;
  REQUIRE(parse_model_image(shifted.data() + 1, file.size(), &img, &why) == Status::ok);
  CHECK(img.param_floats == p.size());
  constexpr PlanOptions opts{.batch = 4, .train = Trainable::none};
  std::vector<std::byte> arena(arena_bytes(reference::tied, opts) + kAlign);
  Model m;
  g_news = 0;
  g_counting = true;
  const Status s = load_model_image(img, opts, arena.data(), arena.size(), &m);
  g_counting = false;
  REQUIRE(s == Status::ok);
  CHECK(g_news == 0);
  test::BoundModel ref(reference::tied, opts);
  REQUIRE(ref.model.set_params(p.data(), p.size()) == Status::ok);
  const std::vector<float> x = test::random_vector(4 * 784, 5, 0.0f, 1.0f);
  ConstMatrixView y1, y2;
  REQUIRE(m.forward({x.data(), 4, 784, 784}, &y1) == Status::ok);
  REQUIRE(ref.model.forward({x.data(), 4, 784, 784}, &y2) == Status::ok);
  for (int r = 0; r < 4; ++r) CHECK(std::memcmp(y1.row(r), y2.row(r), 784 * sizeof(float)) == 0);

  // Too small an arena is refused before anything is written.
  Model small;
  CHECK(load_model_image(img, opts, arena.data(), 1000, &small) == Status::arena_too_small);
  // Zero copy: inference straight from the (aligned) image.
  constexpr PlanOptions ext{.batch = 4, .train = Trainable::none, .external_weights = true};
  std::vector<std::byte> arena2(arena_bytes(reference::tied, ext) + kAlign);
  Model z;
  REQUIRE(load_model_image(img, ext, arena2.data(), arena2.size(), &z) == Status::invalid_argument);  // unaligned
  ModelImage aligned;
  REQUIRE(parse_model_image(file.data(), file.size(), &aligned, &why) == Status::ok);
  REQUIRE(load_model_image(aligned, ext, arena2.data(), arena2.size(), &z) == Status::ok);
  CHECK(arena_bytes(reference::tied, ext) < arena_bytes(reference::tied, opts));
  ConstMatrixView y3;
  REQUIRE(z.forward({x.data(), 4, 784, 784}, &y3) == Status::ok);
  for (int r = 0; r < 4; ++r) CHECK(std::memcmp(y3.row(r), y2.row(r), 784 * sizeof(float)) == 0);
}

TEST_CASE("load_model_into validates the whole file, then streams it into the arena with no heap") {
  test::TempDir dir;
  const std::string path = dir.file("tied.mote");
  const std::vector<float> p = test::random_vector(param_count(reference::tied), 11);
  io::Error err;
  REQUIRE(io::save_model(path.c_str(), reference::tied, p.data(), p.size(), &err) == Status::ok);
  constexpr PlanOptions opts{.batch = 8, .train = Trainable::none};
  std::vector<std::byte> arena(arena_bytes(reference::tied, opts) + kAlign);
  Model m;
  g_news = 0;
  g_counting = true;
  ModelSpec spec;
  Status s = io::probe_model_file(path.c_str(), &spec, &err);
  if (s == Status::ok) s = io::load_model_into(path.c_str(), opts, arena.data(), arena.size(), &m, &err);
  g_counting = false;
  REQUIRE_MESSAGE(s == Status::ok, err.message);
  CHECK(g_news == 0);
  std::vector<float> back(p.size());
  REQUIRE(m.get_params(back.data(), back.size()) == Status::ok);
  CHECK(back == p);

  Model m2;
  CHECK(io::load_model_into(path.c_str(), opts, arena.data(), 4096, &m2, &err) == Status::arena_too_small);
  CHECK(std::string(err.message).find("arena") != std::string::npos);

  // One flipped bit in the parameters: refused by the first pass, the arena untouched.
  std::vector<unsigned char> b;
  REQUIRE(io::read_file(path.c_str(), 1 << 24, &b, &err) == Status::ok);
  b[b.size() - 5] ^= 0x10;
  REQUIRE(write_bytes(path, b.data(), b.size()));
  std::memset(arena.data(), 0x5a, arena.size());
  Model m3;
  CHECK(io::load_model_into(path.c_str(), opts, arena.data(), arena.size(), &m3, &err) == Status::bad_file);
  CHECK(std::string(err.message).find("checksum") != std::string::npos);
  CHECK(std::string(err.message).find(path) == 0);
  bool untouched = true;
  for (std::byte x : arena) untouched = untouched && x == std::byte{0x5a};
  CHECK(untouched);
}

TEST_CASE("every flipped bit and every truncation of a model file is refused") {
  const std::vector<float> p = test::random_vector(param_count(kSmallTied), 2);
  const std::vector<unsigned char> good = encode(kSmallTied, p);
  REQUIRE(parse_error(good) == "ok");
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<unsigned char> b = good;
      b[i] ^= static_cast<unsigned char>(1u << bit);
      CAPTURE(i);
      CHECK(parse_error(b) != "ok");
    }
  }
  for (std::size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    CHECK(parse_error(std::vector<unsigned char>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n))) != "ok");
  }
  std::vector<unsigned char> longer = good;
  longer.push_back(0);
  CHECK(parse_error(longer) == std::string("file size differs from the header's (truncated or padded)"));
}

TEST_CASE("bad fields are named") {
  const std::vector<unsigned char> good = encode(kSmallTied, test::random_vector(param_count(kSmallTied), 2));
  auto with = [&](std::size_t at, unsigned char v) {
    std::vector<unsigned char> b = good;
    b[at] = v;
    return parse_error(b);
  };
  CHECK(with(0, 'X') == std::string("not a mote model file (bad magic)"));
  CHECK(with(4, 3) == std::string("header checksum mismatch (corrupt header)"));
  {
    std::vector<unsigned char> b = good;  // big-endian byte-order mark, header CRC fixed
    b[8] = 1, b[9] = 2, b[10] = 3, b[11] = 4;
    put32(b, 28, crc32_update(0, b.data(), 28));
    CHECK(parse_error(b).find("big-endian") != std::string::npos);
  }
  {
    std::vector<unsigned char> b = good;  // version 3, header CRC fixed
    b[4] = 3;
    put32(b, 28, crc32_update(0, b.data(), 28));
    CHECK(parse_error(b) == std::string("unsupported format version"));
  }

  std::vector<unsigned char> l = layer_bytes(kSmallTied);
  const std::size_t n = param_count(kSmallTied);
  CHECK(parse_error(encode_raw(l, n)) == "ok");
  auto layer_error = [&](std::size_t at, unsigned char v, std::size_t floats) {
    std::vector<unsigned char> x = l;
    x[at] = v;
    return parse_error(encode_raw(x, floats));
  };
  // layer 2 (a DenseTranspose of layer 1): its row is at 8 + 16 * 2
  CHECK(layer_error(8 + 32 + 2, 5, n) ==
        std::string("layer table: tie reference out of range (must name an earlier layer)"));
  CHECK(layer_error(8 + 32 + 2, 2, n) == std::string("layer table: tie reference out of range (must name an earlier layer)"));
  CHECK(layer_error(8 + 32 + 2, 0, n) == std::string("layer table: tied layer's shape is not its partner's transposed"));
  CHECK(layer_error(8 + 32 + 1, 7, n) == std::string("layer table: unknown activation"));
  CHECK(layer_error(8 + 32 + 0, 9, n) == std::string("layer table: unknown layer kind"));
  CHECK(layer_error(8 + 2, 0, n) == std::string("layer table: a dense layer has a tie reference"));
  CHECK(layer_error(8 + 12, 99, n) == std::string("layer table: parameter count does not match the layer's shape"));
  CHECK(layer_error(4, 9, n) == std::string("layer table: layer count out of range 1..8"));
  CHECK(layer_error(4, 3, n) == std::string("layer table: size does not match its layer count"));
  CHECK(layer_error(8 + 4, 7, n) == std::string("layer table: input width differs from the previous layer's output"));
  CHECK(parse_error(encode_raw(l, n - 1)) == std::string("parameters: section size does not match the layer table"));
  CHECK(parse_error(encode_raw(l, n, ImageDtype::f64)) == std::string("parameters: dtype must be float32 (1)"));
  {
    // Widths of 65536 x 65536 claim 16 GiB of parameters: refused by size, no overflow.
    std::vector<unsigned char> big(8 + 16);
    put32(big, 0, 65536);
    put32(big, 4, 1);
    big[8 + 2] = 0xff;
    put32(big, 8 + 4, 65536);
    put32(big, 8 + 8, 65536);
    put32(big, 8 + 12, 0);  // 2^32 + 65536 does not fit 32 bits: the count cannot match
    CHECK(parse_error(encode_raw(big, 4)) == std::string("layer table: parameter count does not match the layer's shape"));
    put32(big, 8 + 4, 70000);
    put32(big, 0, 70000);
    CHECK(parse_error(encode_raw(big, 4)) == std::string("layer table: input width out of range 1..65536"));
  }
  {
    // A section that claims to run past the end (table CRC fixed).
    std::vector<unsigned char> b = good;
    put32(b, 32 + 32 + 16, 0xfffffff0u);  // PARM size
    put32(b, 12, crc32_update(0, b.data() + 32, 64));
    put32(b, 28, crc32_update(0, b.data(), 28));
    CHECK(parse_error(b) == std::string("section runs past the end of the file"));
    // ... or to overlap the table.
    b = good;
    put32(b, 32 + 8, 64);
    put32(b, 12, crc32_update(0, b.data() + 32, 64));
    put32(b, 28, crc32_update(0, b.data(), 28));
    CHECK(parse_error(b) == std::string("section overlaps the table or the previous section"));
  }
  {
    // No parameter section at all.
    const ImageSection s[] = {{kTagLayers, ImageDtype::bytes, l.data(), l.size(), 0, 0}};
    std::vector<unsigned char> b(image_bytes(s, 1));
    write_image(s, 1, b.data(), b.size());
    CHECK(parse_error(b) == std::string("no parameter section (PARM)"));
  }
  io::Error err;
  ImageError why;
  why.what = "layer table: unknown activation";
  why.layer = 2;
  why.has_values = true;
  why.expected = 2;
  why.actual = 7;
  io::image_error("m.mote", why, &err);
  CHECK(std::string(err.message) == "m.mote: layer table: unknown activation (layer 2) (expected 2, got 7)");
}

TEST_CASE("the fuzzers' seed files, written by an independent Python writer, parse") {
  const std::string root = MOTE_SOURCE_DIR "/fuzz/corpus/model_file/";
  for (const char* name : {"tied.mote", "stacked.mote", "tied.ckpt"}) {
    CAPTURE(name);
    std::vector<unsigned char> b;
    io::Error err;
    REQUIRE_MESSAGE(io::read_file((root + name).c_str(), 1 << 20, &b, &err) == Status::ok, err.message);
    CHECK(parse_error(b) == "ok");
  }
  io::Checkpoint c;
  io::Error err;
  REQUIRE_MESSAGE(io::load_checkpoint((root + "tied.ckpt").c_str(), &c, &err) == Status::ok, err.message);
  CHECK(std::string(c.state.model) == "tied");
  CHECK(c.state.global_step == 7);
  CHECK(c.history.size() == 3);
}

TEST_CASE("checkpoints round-trip and load as models") {
  test::TempDir dir;
  const std::string path = dir.file("run.ckpt");
  io::Checkpoint c;
  c.spec = reference::tied;
  c.params = test::random_vector(param_count(reference::tied), 4);
  c.opt_state = test::random_vector(2 * param_count(reference::tied), 5);
  std::snprintf(c.state.model, sizeof c.state.model, "tied");
  c.state.seed = 42;
  c.state.batch = 32;
  c.state.limit = 2000;
  c.state.optimizer.kind = Optimizer::adam;
  c.state.optimizer.lr = 0.001f;
  c.state.epochs_done = 2;
  c.state.step_in_epoch = 17;
  c.state.global_step = 2 * 63 + 17;
  Rng rng(42, 7);
  rng.next();
  c.state.rng_state = rng.state();
  c.state.rng_inc = rng.increment();
  c.state.loss_sum = 123.456789;
  c.state.rows_seen = 17 * 32;
  c.history = {0.5, 0.45, 0.8, 0.4, 0.39, 0.82};
  io::Error err;
  REQUIRE(io::save_checkpoint(path.c_str(), c, &err) == Status::ok);
  io::Checkpoint d;
  REQUIRE_MESSAGE(io::load_checkpoint(path.c_str(), &d, &err) == Status::ok, err.message);
  CHECK(d.params == c.params);
  CHECK(d.opt_state == c.opt_state);
  CHECK(d.history == c.history);
  unsigned char a[io::kTrainStateBytes], b[io::kTrainStateBytes];
  io::encode_train_state(c.state, a);
  io::encode_train_state(d.state, b);
  CHECK(std::memcmp(a, b, sizeof a) == 0);
  // eval --load reads a checkpoint as a model
  io::LoadedModel lm;
  REQUIRE(io::load_model(path.c_str(), &lm, &err) == Status::ok);
  CHECK(lm.params == c.params);
  // a model file is not a checkpoint
  const std::string model = dir.file("m.mote");
  REQUIRE(io::save_model(model.c_str(), c.spec, c.params.data(), c.params.size(), &err) == Status::ok);
  CHECK(io::load_checkpoint(model.c_str(), &d, &err) == Status::bad_file);
  CHECK(std::string(err.message).find("not a checkpoint") != std::string::npos);
  // history that does not match the epochs is refused
  c.history.pop_back();
  REQUIRE(io::save_checkpoint(path.c_str(), c, &err) == Status::ok);
  CHECK(io::load_checkpoint(path.c_str(), &d, &err) == Status::bad_file);
  // out-of-range fields of the training state are named
  io::TrainState t = c.state;
  io::encode_train_state(t, a);
  a[4 + 16 + 8] = 0;  // batch 0
  a[4 + 16 + 9] = 0;
  CHECK(std::string(io::decode_train_state(a, sizeof a, &t)) == "training state: batch out of range");
}

TEST_CASE("write_file_atomic replaces a file whole and reports what failed") {
  test::TempDir dir;
  const std::string path = dir.file("f.bin");
  io::Error err;
  REQUIRE(io::write_file_atomic(path.c_str(), "old", 3, &err) == Status::ok);
  REQUIRE(io::write_file_atomic(path.c_str(), "newer", 5, &err) == Status::ok);
  std::vector<unsigned char> b;
  REQUIRE(io::read_file(path.c_str(), 100, &b, &err) == Status::ok);
  CHECK(std::string(b.begin(), b.end()) == "newer");
  CHECK(io::write_file_atomic("/nonexistent-dir/x.mote", "x", 1, &err) == Status::io_error);
  CHECK(std::string(err.message).find("/nonexistent-dir/x.mote") == 0);
  CHECK(io::read_file(dir.path.c_str(), 100, &b, &err) == Status::bad_file);  // a folder
  io::LoadedModel lm;
  CHECK(io::load_model(path.c_str(), &lm, &err) == Status::bad_file);
  CHECK(std::string(err.message) == path + ": too short for the 32-byte header (expected 32, got 5)");
}
