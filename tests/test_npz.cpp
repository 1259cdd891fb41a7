// .npy and .npz: a hand-written file with a known header and data, round
// trips, zip details (deflate, zip64 extras), malformed input named, and the
// real NumPy (Debian's python3-numpy) reading what we write and vice versa.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "io/model_file.h"
#include "io/npz.h"
#include "tmp_dir.h"

using namespace mote;

namespace {

std::vector<unsigned char> bytes(const std::string& s) { return std::vector<unsigned char>(s.begin(), s.end()); }

void append_f32(std::vector<unsigned char>& b, float v) {
  unsigned char x[4];
  std::memcpy(x, &v, 4);
  b.insert(b.end(), x, x + 4);
}

// The header NumPy 1.24 writes for np.save(f, np.array([[1, 2, 3], [4, 5, 6]], np.float32)),
// spelled out byte by byte.
std::vector<unsigned char> hand_written_npy() {
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  h.append(128 - 10 - h.size() - 1, ' ');
  h += '\n';
  REQUIRE(h.size() == 118);
  std::vector<unsigned char> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 0x01, 0x00, 118, 0};
  b.reserve(256);
  b.insert(b.end(), h.begin(), h.end());
  for (int i = 1; i <= 6; ++i) append_f32(b, static_cast<float>(i));
  return b;
}

std::string npy_error(const std::vector<unsigned char>& b) {
  io::NpyArray a;
  io::Error err;
  return io::parse_npy(b.data(), b.size(), "x.npy", &a, &err) == Status::ok ? "ok" : err.message;
}

bool have_numpy() { return std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0; }

}  // namespace

TEST_CASE("a hand-written .npy with a known header and data parses") {
  const std::vector<unsigned char> b = hand_written_npy();
  REQUIRE(b.size() == 128 + 24);
  io::NpyArray a;
  io::Error err;
  REQUIRE_MESSAGE(io::parse_npy(b.data(), b.size(), "hand.npy", &a, &err) == Status::ok, err.message);
  CHECK(a.shape == std::vector<int64_t>{2, 3});
  CHECK(a.data == std::vector<float>{1, 2, 3, 4, 5, 6});
  // Our writer produces exactly these bytes.
  CHECK(io::encode_npy(a) == b);
}

TEST_CASE(".npy variants: big-endian float64, Fortran order, version 2, scalars, 1-D") {
  // >f8, Fortran order, shape (2, 3): column-major data 1 4 2 5 3 6
  std::string h = "{\"descr\": \">f8\", \"fortran_order\": True, \"shape\": (2,3)}\n";
  std::vector<unsigned char> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 0x02, 0x00};
  b.reserve(256);
  const auto hl = static_cast<uint32_t>(h.size());
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<unsigned char>(hl >> (8 * i)));
  b.insert(b.end(), h.begin(), h.end());
  for (double v : {1.0, 4.0, 2.0, 5.0, 3.0, 6.0}) {
    unsigned char x[8];
    std::memcpy(x, &v, 8);
    for (int i = 7; i >= 0; --i) b.push_back(x[i]);
  }
  io::NpyArray a;
  io::Error err;
  REQUIRE_MESSAGE(io::parse_npy(b.data(), b.size(), "f.npy", &a, &err) == Status::ok, err.message);
  CHECK(a.shape == std::vector<int64_t>{2, 3});
  CHECK(a.data == std::vector<float>{1, 2, 3, 4, 5, 6});

  io::NpyArray s;
  s.shape = {};
  s.data = {2.5f};
  REQUIRE(io::parse_npy(io::encode_npy(s).data(), io::encode_npy(s).size(), "s.npy", &a, &err) == Status::ok);
  CHECK(a.shape.empty());
  CHECK(a.data == std::vector<float>{2.5f});
  s.shape = {3};
  s.data = {1, 2, 3};
  const std::vector<unsigned char> e = io::encode_npy(s);
  CHECK(std::string(e.begin() + 10, e.begin() + 70).find("'shape': (3,)") != std::string::npos);
  CHECK(e.size() % 64 == 12 % 64);  // header padded to 64 bytes, then 12 bytes of data
}

TEST_CASE("malformed .npy files are refused with the reason") {
  const std::vector<unsigned char> good = hand_written_npy();
  auto edit = [&](const std::string& from, const std::string& to) {
    std::string s(good.begin(), good.end());
    const std::size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
    return bytes(s);
  };
  CHECK(npy_error(edit("<f4", "<i4")).find("dtype '<i4' is not supported") != std::string::npos);
  CHECK(npy_error(edit("(2, 3)", "(3, 3)")).find("the header's shape needs 36 bytes of data, the file holds 24") !=
        std::string::npos);
  CHECK(npy_error(edit("'descr'", "'dtype'")).find("unexpected key 'dtype'") != std::string::npos);
  CHECK(npy_error(edit("False", "Maybe")).find("'fortran_order' must be True or False") != std::string::npos);
  CHECK(npy_error(edit("(2, 3)", "(2, -3)")).find("bad dimension") != std::string::npos);
  CHECK(npy_error(edit("(2, 3)", "(9999999999999, 1)")).find("bad dimension") != std::string::npos);
  CHECK(npy_error(edit("(2, 3)", "(2097152, 1048576)")).find("too large") != std::string::npos);
  CHECK(npy_error(edit("NUMPY", "NUMPI")).find("bad magic") != std::string::npos);
  std::vector<unsigned char> v = good;
  v[6] = 4;
  CHECK(npy_error(v).find("unsupported .npy format version 4.0") != std::string::npos);
  v = good;
  v[8] = 200;  // header longer than the file
  CHECK(npy_error(v).find("only") != std::string::npos);
  for (std::size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    CHECK(npy_error(std::vector<unsigned char>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n))) != "ok");
  }
}

TEST_CASE(".npz: write, read back, deflated entries, order, limits") {
  std::vector<io::NpyArray> arrays(3);
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    arrays[i].name = "arr_" + std::to_string(2 - i);  // archive order differs from the positional order
    arrays[i].shape = {static_cast<int64_t>(i + 1), 2};
    for (std::size_t k = 0; k < (i + 1) * 2; ++k) arrays[i].data.push_back(static_cast<float>(i * 10 + k));
  }
  std::vector<io::ZipEntry> entries;
  for (const io::NpyArray& a : arrays) entries.push_back({a.name + ".npy", io::encode_npy(a)});
  const std::vector<unsigned char> zip = io::encode_zip(entries);
  std::vector<io::NpyArray> back;
  io::Error err;
  REQUIRE_MESSAGE(io::parse_npz(zip.data(), zip.size(), "a.npz", {}, &back, &err) == Status::ok, err.message);
  REQUIRE(back.size() == 3);
  CHECK(back[0].name == "arr_2");
  CHECK(io::order_as_positional(&back));
  CHECK(back[0].name == "arr_0");
  CHECK(back[0].data == arrays[2].data);
  CHECK(back[2].shape == arrays[0].shape);
  back[1].name = "kernel";
  CHECK(!io::order_as_positional(&back));

  // A deflated entry: the same bytes compressed with raw deflate, method 8.
  const std::vector<unsigned char> raw = io::encode_npy(arrays[1]);
  std::vector<unsigned char> packed(compressBound(static_cast<uLong>(raw.size())) + 64);
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  z.next_in = const_cast<unsigned char*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = packed.data();
  z.avail_out = static_cast<uInt>(packed.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  packed.resize(z.total_out);
  deflateEnd(&z);
  std::vector<unsigned char> dz = io::encode_zip({{"w.npy", packed}});
  // Patch method (8), CRC and uncompressed size in the local header and the directory.
  const auto crc = static_cast<uint32_t>(crc32(0L, raw.data(), static_cast<uInt>(raw.size())));
  const std::size_t cd = dz.size() - 22 - (46 + 5);
  for (std::size_t base : {std::size_t{0}, cd}) {
    const std::size_t off = base == 0 ? 8 : 10;  // method field
    const std::size_t crc_at = base == 0 ? 14 : 16;
    const std::size_t usize_at = base == 0 ? 22 : 24;
    dz[base + off] = 8;
    for (int i = 0; i < 4; ++i) {
      dz[base + crc_at + static_cast<std::size_t>(i)] = static_cast<unsigned char>(crc >> (8 * i));
      dz[base + usize_at + static_cast<std::size_t>(i)] = static_cast<unsigned char>(raw.size() >> (8 * i));
    }
  }
  REQUIRE_MESSAGE(io::parse_npz(dz.data(), dz.size(), "d.npz", {}, &back, &err) == Status::ok, err.message);
  CHECK(back[0].data == arrays[1].data);
  // A claimed size beyond the limit is refused before anything is allocated.
  io::NpzLimits tight;
  tight.max_entry_bytes = 16;
  CHECK(io::parse_npz(dz.data(), dz.size(), "d.npz", tight, &back, &err) == Status::bad_file);
  CHECK(std::string(err.message).find("expands to") != std::string::npos);
  // A corrupted byte in the compressed stream or the data is caught.
  std::vector<unsigned char> bad = dz;
  bad[30 + 5 + 3] ^= 0x55;
  CHECK(io::parse_npz(bad.data(), bad.size(), "d.npz", {}, &back, &err) == Status::bad_file);
  bad = zip;
  bad[30 + 9 + 130] ^= 1;
  CHECK(io::parse_npz(bad.data(), bad.size(), "a.npz", {}, &back, &err) == Status::bad_file);
  CHECK(std::string(err.message).find("CRC32 mismatch") != std::string::npos);
  for (std::size_t n = 0; n < zip.size(); n += 7) {
    CAPTURE(n);
    CHECK(io::parse_npz(zip.data(), n, "t.npz", {}, &back, &err) == Status::bad_file);
  }
}

TEST_CASE("NumPy reads what we write and we read what NumPy writes") {
  if (!have_numpy()) {
    MESSAGE("SKIPPED: /usr/bin/python3 with numpy is not installed (apt-get install python3-numpy)");
    return;
  }
  test::TempDir dir;
  std::vector<io::NpyArray> arrays(2);
  arrays[0].name = "arr_0";
  arrays[0].shape = {3, 4};
  for (int i = 0; i < 12; ++i) arrays[0].data.push_back(static_cast<float>(i) / 7.0f);
  arrays[1].name = "arr_1";
  arrays[1].shape = {4};
  arrays[1].data = {-1.5f, 0.0f, 2.25f, 0.125f};
  io::Error err;
  const std::string ours = dir.file("ours.npz");
  REQUIRE(io::write_npz(ours.c_str(), arrays, &err) == Status::ok);
  const std::string script = dir.file("check.py");
  FILE* f = std::fopen(script.c_str(), "w");
  REQUIRE(f);
  std::fprintf(f,
               "import sys, numpy as np\n"
               "d = np.load(sys.argv[1])\n"
               "a = np.arange(12, dtype=np.float32).reshape(3, 4) / np.float32(7)\n"
               "assert d.files == ['arr_0', 'arr_1'], d.files\n"
               "assert d['arr_0'].dtype == np.float32 and np.array_equal(d['arr_0'], a)\n"
               "assert np.array_equal(d['arr_1'], np.array([-1.5, 0, 2.25, 0.125], np.float32))\n"
               "np.savez_compressed(sys.argv[2], d['arr_0'], d['arr_1'])\n"
               "np.savez(sys.argv[3], d['arr_0'].T, d['arr_1'].astype('>f8'))\n");
  std::fclose(f);
  const std::string packed = dir.file("packed.npz"), mixed = dir.file("mixed.npz");
  const std::string cmd = "/usr/bin/python3 " + script + " " + ours + " " + packed + " " + mixed;
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::vector<io::NpyArray> back;
  REQUIRE_MESSAGE(io::read_npz(packed.c_str(), &back, &err) == Status::ok, err.message);
  REQUIRE(io::order_as_positional(&back));
  CHECK(back[0].shape == arrays[0].shape);
  CHECK(back[0].data == arrays[0].data);
  CHECK(back[1].data == arrays[1].data);
  REQUIRE_MESSAGE(io::read_npz(mixed.c_str(), &back, &err) == Status::ok, err.message);
  REQUIRE(io::order_as_positional(&back));
  CHECK(back[0].shape == std::vector<int64_t>{4, 3});  // the transpose, written in Fortran order
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 3; ++c) CHECK(back[0].data[static_cast<std::size_t>(r * 3 + c)] == arrays[0].data[static_cast<std::size_t>(c * 4 + r)]);
  CHECK(back[1].data == arrays[1].data);
}
