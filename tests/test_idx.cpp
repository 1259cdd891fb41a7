#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "io/idx.h"
#include "tmp_dir.h"

using namespace mote;
using io::Error;
using io::Images;

namespace {

std::vector<uint8_t> idx_bytes(uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols, std::size_t payload) {
  std::vector<uint8_t> b;
  for (uint32_t v : {magic, count, rows, cols})
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
  for (std::size_t i = 0; i < payload; ++i) b.push_back(static_cast<uint8_t>(i * 37 % 256));
  return b;
}

void write_gz(const std::string& path, const std::vector<uint8_t>& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
  gzclose(f);
}

void write_raw(const std::string& path, const std::vector<uint8_t>& b) {
  FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  std::fwrite(b.data(), 1, b.size(), f);
  std::fclose(f);
}

std::vector<uint8_t> read_raw(const std::string& path) {
  std::vector<uint8_t> b;
  FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  int c;
  while ((c = std::fgetc(f)) != EOF) b.push_back(static_cast<uint8_t>(c));
  std::fclose(f);
  return b;
}

}  // namespace

TEST_CASE("a valid gzipped IDX file reads as floats in [0, 1]") {
  test::TempDir dir;
  const auto bytes = idx_bytes(0x803, 3, 2, 5, 3 * 10);
  write_gz(dir.file("ok.gz"), bytes);
  Images img;
  Error err;
  REQUIRE(io::read_idx_images(dir.file("ok.gz").c_str(), 0, &img, &err) == Status::ok);
  CHECK(img.count == 3);
  CHECK(img.width() == 10);
  for (int i = 0; i < 30; ++i) CHECK(img.pixels[static_cast<std::size_t>(i)] == static_cast<float>(bytes[16 + static_cast<std::size_t>(i)]) / 255.0f);
  SUBCASE("limit keeps the first images") {
    Images two;
    REQUIRE(io::read_idx_images(dir.file("ok.gz").c_str(), 2, &two, &err) == Status::ok);
    CHECK(two.count == 2);
    CHECK(two.pixels.size() == 20);
  }
  SUBCASE("an uncompressed file reads the same") {
    write_raw(dir.file("plain"), bytes);
    Images plain;
    REQUIRE(io::read_idx_images(dir.file("plain").c_str(), 0, &plain, &err) == Status::ok);
    CHECK(plain.pixels == img.pixels);
  }
  SUBCASE("PixelFormat::bytes keeps the bytes as stored, and no floats") {
    Images raw;
    REQUIRE(io::read_idx_images(dir.file("ok.gz").c_str(), 2, &raw, &err, io::PixelFormat::bytes) == Status::ok);
    CHECK(raw.count == 2);
    CHECK(raw.pixels.empty());
    CHECK(raw.bytes == std::vector<uint8_t>(bytes.begin() + 16, bytes.begin() + 16 + 20));
    CHECK(raw.byte_view(1).at(0, 3) == bytes[16 + 10 + 3]);
    Images parsed;
    REQUIRE(io::parse_idx_images(bytes.data(), bytes.size(), "mem", 0, &parsed, &err, io::PixelFormat::bytes) ==
            Status::ok);
    CHECK(parsed.bytes == std::vector<uint8_t>(bytes.begin() + 16, bytes.end()));
    // Read again as floats: the same Images holds only the floats now.
    REQUIRE(io::parse_idx_images(bytes.data(), bytes.size(), "mem", 0, &parsed, &err) == Status::ok);
    CHECK(parsed.bytes.empty());
    CHECK(parsed.pixels == img.pixels);
  }
}

TEST_CASE("bad IDX files are refused with a message naming the file and the fault") {
  test::TempDir dir;
  Images img;
  Error err;
  SUBCASE("missing") {
    CHECK(io::read_idx_images(dir.file("nope.gz").c_str(), 0, &img, &err) == Status::io_error);
    CHECK(std::string(err.message).find("nope.gz: cannot open") != std::string::npos);
  }
  SUBCASE("wrong magic (a label file)") {
    write_gz(dir.file("labels.gz"), idx_bytes(0x801, 3, 2, 5, 30));
    CHECK(io::read_idx_images(dir.file("labels.gz").c_str(), 0, &img, &err) == Status::bad_file);
    CHECK(std::string(err.message).find("not an IDX image file") != std::string::npos);
  }
  SUBCASE("truncated payload") {
    write_gz(dir.file("short.gz"), idx_bytes(0x803, 5, 2, 5, 3 * 10 + 4));
    CHECK(io::read_idx_images(dir.file("short.gz").c_str(), 0, &img, &err) == Status::bad_file);
    CHECK(std::string(err.message).find("truncated") != std::string::npos);
  }
  SUBCASE("truncated header") {
    write_gz(dir.file("hdr.gz"), std::vector<uint8_t>{0, 0, 8, 3, 0});
    CHECK(io::read_idx_images(dir.file("hdr.gz").c_str(), 0, &img, &err) == Status::bad_file);
    CHECK(std::string(err.message).find("header") != std::string::npos);
  }
  SUBCASE("trailing bytes") {
    write_gz(dir.file("long.gz"), idx_bytes(0x803, 2, 2, 5, 2 * 10 + 1));
    CHECK(io::read_idx_images(dir.file("long.gz").c_str(), 0, &img, &err) == Status::bad_file);
    CHECK(std::string(err.message).find("trailing") != std::string::npos);
  }
  SUBCASE("absurd dimensions") {
    write_gz(dir.file("dims.gz"), idx_bytes(0x803, 1, 0, 5, 0));
    CHECK(io::read_idx_images(dir.file("dims.gz").c_str(), 0, &img, &err) == Status::bad_file);
    CHECK(std::string(err.message).find("bad image size") != std::string::npos);
  }
  SUBCASE("corrupt gzip stream") {
    write_gz(dir.file("c.gz"), idx_bytes(0x803, 50, 28, 28, 50 * 784));
    auto raw = read_raw(dir.file("c.gz"));
    for (std::size_t i = raw.size() / 3; i < raw.size() / 3 + 40; ++i) raw[i] ^= 0x5a;
    write_raw(dir.file("c.gz"), raw);
    CHECK(io::read_idx_images(dir.file("c.gz").c_str(), 0, &img, &err) == Status::bad_file);
    const std::string m = err.message;
    CHECK((m.find("corrupt") != std::string::npos || m.find("truncated") != std::string::npos));
  }
  SUBCASE("gzip cut short") {
    write_gz(dir.file("cut.gz"), idx_bytes(0x803, 50, 28, 28, 50 * 784));
    auto raw = read_raw(dir.file("cut.gz"));
    raw.resize(raw.size() / 2);
    write_raw(dir.file("cut.gz"), raw);
    CHECK(io::read_idx_images(dir.file("cut.gz").c_str(), 0, &img, &err) == Status::bad_file);
  }
}

TEST_CASE("parse_idx_images checks the payload against the header") {
  Images img;
  Error err;
  const auto ok = idx_bytes(0x803, 2, 3, 3, 18);
  CHECK(io::parse_idx_images(ok.data(), ok.size(), "mem", 0, &img, &err) == Status::ok);
  CHECK(img.count == 2);
  CHECK(io::parse_idx_images(ok.data(), ok.size() - 1, "mem", 0, &img, &err) == Status::bad_file);
  CHECK(io::parse_idx_images(ok.data(), 10, "mem", 0, &img, &err) == Status::bad_file);
  // count * rows * cols overflowing 32 bits must not wrap around
  const auto huge = idx_bytes(0x803, 1u << 24, 4096, 4096, 0);
  CHECK(io::parse_idx_images(huge.data(), huge.size(), "mem", 0, &img, &err) == Status::bad_file);
}
