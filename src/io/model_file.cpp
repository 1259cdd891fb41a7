#include "io/model_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace mote::io {

namespace {

constexpr char kMagic[4] = {'M', 'O', 'T', 'E'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kByteOrder = 0x01020304;
// header: magic, version, byte order, input, num_layers; per layer 4 x u32;
// u64 param count; params f32; u32 CRC32 of all that precedes it.

void put_bytes(std::vector<uint8_t>& b, const void* p, std::size_t n) {
  const std::size_t at = b.size();
  b.resize(at + n);
  if (n) std::memcpy(b.data() + at, p, n);
}
void put32(std::vector<uint8_t>& b, uint32_t v) { put_bytes(b, &v, 4); }
uint32_t get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

Status write_file_atomic(const char* path, const void* data, std::size_t size, Error* err) {
  const std::string tmp = std::string(path) + ".tmp." + std::to_string(getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return err->set(Status::io_error, "%s: cannot create: %s", tmp.c_str(), std::strerror(errno));
  const auto* p = static_cast<const uint8_t*>(data);
  std::size_t left = size;
  while (left > 0) {
    const ssize_t w = ::write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return err->set(Status::io_error, "%s: write failed: %s", tmp.c_str(), std::strerror(e));
    }
    p += w;
    left -= static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return err->set(Status::io_error, "%s: fsync/close failed: %s", tmp.c_str(), std::strerror(e));
  }
  if (::rename(tmp.c_str(), path) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return err->set(Status::io_error, "%s: rename failed: %s", path, std::strerror(e));
  }
  return Status::ok;
}

Status save_model(const char* path, const ModelSpec& spec, const float* params, std::size_t n, Error* err) {
  if (validate(spec) != Status::ok) return err->set(Status::invalid_model, "%s: refusing to save an invalid model", path);
  if (n != param_count(spec)) return err->set(Status::shape_mismatch, "%s: %zu parameters for a model of %zu", path, n, param_count(spec));
  std::vector<uint8_t> b;
  put_bytes(b, kMagic, 4);
  put32(b, kVersion);
  put32(b, kByteOrder);
  put32(b, static_cast<uint32_t>(spec.input));
  put32(b, static_cast<uint32_t>(spec.num_layers));
  for (int i = 0; i < spec.num_layers; ++i) {
    const LayerSpec& l = spec.layers[i];
    put32(b, static_cast<uint32_t>(l.kind) | (static_cast<uint32_t>(l.act) << 8) |
                 (static_cast<uint32_t>(static_cast<uint8_t>(l.tie)) << 16));
    put32(b, static_cast<uint32_t>(l.in));
    put32(b, static_cast<uint32_t>(l.out));
    put32(b, 0);
  }
  put32(b, static_cast<uint32_t>(n));
  put32(b, static_cast<uint32_t>(static_cast<uint64_t>(n) >> 32));
  put_bytes(b, params, n * sizeof(float));
  put32(b, static_cast<uint32_t>(crc32(0L, b.data(), static_cast<uInt>(b.size()))));
  return write_file_atomic(path, b.data(), b.size(), err);
}

Status load_model(const char* path, LoadedModel* out, Error* err) {
  FILE* f = std::fopen(path, "rb");
  if (!f) return err->set(Status::io_error, "%s: cannot open: %s", path, std::strerror(errno));
  std::vector<uint8_t> b;
  uint8_t buf[65536];
  std::size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) {
    put_bytes(b, buf, got);
    if (b.size() > (std::size_t{1} << 31)) break;
  }
  const bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error) return err->set(Status::io_error, "%s: read failed", path);
  const std::size_t size = b.size();
  if (size < 20 || std::memcmp(b.data(), kMagic, 4) != 0)
    return err->set(Status::bad_file, "%s: not a mote model file (bad magic)", path);
  const uint32_t version = get32(&b[4]);
  if (version != kVersion) return err->set(Status::bad_file, "%s: unsupported format version %u", path, version);
  if (get32(&b[8]) != kByteOrder) return err->set(Status::bad_file, "%s: written with another byte order", path);
  const uint32_t crc = get32(&b[size - 4]);
  if (crc != static_cast<uint32_t>(crc32(0L, b.data(), static_cast<uInt>(size - 4))))
    return err->set(Status::bad_file, "%s: checksum mismatch (corrupt or truncated)", path);
  ModelSpec spec;
  spec.input = static_cast<int32_t>(get32(&b[12]));
  const uint32_t layers = get32(&b[16]);
  if (layers == 0 || layers > static_cast<uint32_t>(kMaxLayers))
    return err->set(Status::bad_file, "%s: %u layers (1..%d allowed)", path, layers, kMaxLayers);
  spec.num_layers = static_cast<int32_t>(layers);
  std::size_t off = 20;
  if (size < off + layers * 16 + 8 + 4) return err->set(Status::bad_file, "%s: truncated layer table", path);
  for (uint32_t i = 0; i < layers; ++i, off += 16) {
    const uint32_t w = get32(&b[off]);
    LayerSpec& l = spec.layers[i];
    l.kind = static_cast<LayerKind>(w & 0xff);
    l.act = static_cast<Activation>((w >> 8) & 0xff);
    l.tie = static_cast<int8_t>(static_cast<uint8_t>((w >> 16) & 0xff));
    l.in = static_cast<int32_t>(get32(&b[off + 4]));
    l.out = static_cast<int32_t>(get32(&b[off + 8]));
  }
  if (validate(spec) != Status::ok) return err->set(Status::bad_file, "%s: invalid layer table", path);
  const uint64_t n = uint64_t{get32(&b[off])} | (uint64_t{get32(&b[off + 4])} << 32);
  off += 8;
  if (n != param_count(spec)) return err->set(Status::bad_file, "%s: %llu parameters for a model of %zu", path, static_cast<unsigned long long>(n), param_count(spec));
  if (size - 4 - off != n * sizeof(float))
    return err->set(Status::bad_file, "%s: parameter block is %zu bytes, expected %llu", path, size - 4 - off,
                    static_cast<unsigned long long>(n * sizeof(float)));
  out->spec = spec;
  out->params.resize(static_cast<std::size_t>(n));
  std::memcpy(out->params.data(), &b[off], static_cast<std::size_t>(n) * sizeof(float));
  return Status::ok;
}

}  // namespace mote::io
