#include "io/model_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace mote::io {

namespace {

// A read-only file descriptor, closed on scope exit. No heap.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status open_sized(const char* path, Fd* f, uint64_t* size, Error* err) {
  f->fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (f->fd < 0) return err->set(Status::io_error, "%s: cannot open: %s", path, std::strerror(errno));
  struct stat st;
  if (::fstat(f->fd, &st) != 0) return err->set(Status::io_error, "%s: cannot stat: %s", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return err->set(Status::bad_file, "%s: not a regular file", path);
  *size = static_cast<uint64_t>(st.st_size);
  return Status::ok;
}

// Reads exactly n bytes at off; a short read means the file shrank.
Status pread_full(const char* path, int fd, uint64_t off, void* buf, std::size_t n, Error* err) {
  auto* p = static_cast<unsigned char*>(buf);
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return err->set(Status::io_error, "%s: read failed: %s", path, std::strerror(errno));
    if (r == 0) return err->set(Status::bad_file, "%s: the file shrank while being read", path);
    p += r;
    n -= static_cast<std::size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return Status::ok;
}

constexpr std::size_t kChunk = 16384;  // a multiple of 4: floats never straddle two chunks

// Pass 1 of the streaming reader: the whole file is validated, nothing kept
// but the spec and the table.
Status probe(const char* path, int fd, uint64_t size, Image* img, ModelSpec* spec, const ImageSection** params,
             Error* err) {
  unsigned char head[kImageMaxHead];
  const std::size_t head_n = size < kImageMaxHead ? static_cast<std::size_t>(size) : kImageMaxHead;
  Status s = pread_full(path, fd, 0, head, head_n, err);
  if (s != Status::ok) return s;
  ImageError why;
  if (parse_image_table(head, head_n, size, img, &why) != Status::ok) return image_error(path, why, err);
  unsigned char layers[kLayerTableMaxBytes];
  unsigned char chunk[kChunk];
  const ImageSection* lt = img->find(kTagLayers);
  uint64_t prev_end = kImageHeaderBytes + static_cast<uint64_t>(img->count) * kImageEntryBytes;
  for (int i = 0; i < img->count; ++i) {
    const ImageSection& sec = img->sections[i];
    for (uint64_t at = prev_end; at < sec.offset;) {  // padding must be zero
      const std::size_t n = sec.offset - at < kChunk ? static_cast<std::size_t>(sec.offset - at) : kChunk;
      s = pread_full(path, fd, at, chunk, n, err);
      if (s != Status::ok) return s;
      for (std::size_t k = 0; k < n; ++k)
        if (chunk[k] != 0) {
          why = ImageError{};
          why.what = "padding before a section is not zero";
          return image_error(path, why, err);
        }
      at += n;
    }
    prev_end = sec.offset + sec.bytes;
    uint32_t crc = 0;
    for (std::size_t done = 0; done < sec.bytes;) {
      const std::size_t n = sec.bytes - done < kChunk ? sec.bytes - done : kChunk;
      s = pread_full(path, fd, sec.offset + done, chunk, n, err);
      if (s != Status::ok) return s;
      crc = crc32_update(crc, chunk, n);
      if (&sec == lt && done + n <= sizeof layers) std::memcpy(layers + done, chunk, n);
      done += n;
    }
    if (crc != sec.crc) {
      why = ImageError{};
      why.what = "section checksum mismatch (corrupt data)";
      return image_error(path, why, err);
    }
  }
  if (lt && lt->bytes > sizeof layers) {
    why = ImageError{};
    why.what = "layer table: larger than 8 layers need";
    return image_error(path, why, err);
  }
  if (check_model_sections(*img, lt ? layers : nullptr, spec, params, &why) != Status::ok)
    return image_error(path, why, err);
  return Status::ok;
}

std::string dir_of(const char* path) {
  const char* slash = std::strrchr(path, '/');
  if (!slash) return ".";
  if (slash == path) return "/";
  return std::string(path, static_cast<std::size_t>(slash - path));
}

// "<name>.tmp.<pid>" with a decimal pid (no sign, no leading zero, at most
// INT_MAX): the pid, or 0 when `entry` is not such a name.
pid_t temporary_pid(const char* entry, const std::string& prefix) {
  if (std::strncmp(entry, prefix.c_str(), prefix.size()) != 0) return 0;
  const char* digits = entry + prefix.size();
  if (digits[0] < '1' || digits[0] > '9') return 0;
  long long pid = 0;
  for (const char* q = digits; *q; ++q) {
    if (*q < '0' || *q > '9' || q - digits >= 10) return 0;
    pid = pid * 10 + (*q - '0');
  }
  return pid <= INT_MAX ? static_cast<pid_t>(pid) : 0;
}

// Removes the "<path>.tmp.<pid>" files of saves that were killed: only those
// whose pid is no live process (kill(pid, 0) fails with ESRCH). A live pid,
// even one reused by an unrelated process, keeps its file; so does anything
// that is not exactly such a name. Best effort: nothing here is an error.
void remove_stale_temporaries(const char* path) {
  const char* slash = std::strrchr(path, '/');
  const std::string prefix = std::string(slash ? slash + 1 : path) + ".tmp.";
  DIR* d = ::opendir(dir_of(path).c_str());
  if (!d) return;
  while (const dirent* e = ::readdir(d)) {
    const pid_t pid = temporary_pid(e->d_name, prefix);
    if (pid > 0 && ::kill(pid, 0) == -1 && errno == ESRCH) (void)::unlinkat(::dirfd(d), e->d_name, 0);
  }
  ::closedir(d);
}

}  // namespace

Status image_error(const char* path, const ImageError& why, Error* err) {
  char layer[32] = "";
  char values[96] = "";
  if (why.layer >= 0) std::snprintf(layer, sizeof layer, " (layer %d)", why.layer);
  if (why.has_values)
    std::snprintf(values, sizeof values, " (expected %" PRIu64 ", got %" PRIu64 ")", why.expected, why.actual);
  return err->set(Status::bad_file, "%s: %s%s%s", path, why.what, layer, values);
}

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
  if (::fsync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return err->set(Status::io_error, "%s: fsync failed: %s", tmp.c_str(), std::strerror(e));
  }
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return err->set(Status::io_error, "%s: close failed: %s", tmp.c_str(), std::strerror(e));
  }
  if (::rename(tmp.c_str(), path) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return err->set(Status::io_error, "%s: rename failed: %s", path, std::strerror(e));
  }
  // Make the rename itself durable. A folder that cannot be opened or synced
  // (some file systems) still has the complete file: not an error.
  const int dfd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  remove_stale_temporaries(path);
  return Status::ok;
}

Status read_file(const char* path, std::size_t max_bytes, std::vector<unsigned char>* out, Error* err) {
  Fd f;
  uint64_t size = 0;
  Status s = open_sized(path, &f, &size, err);
  if (s != Status::ok) return s;
  if (size > max_bytes)
    return err->set(Status::bad_file, "%s: %" PRIu64 " bytes, more than the %zu this reader accepts", path, size,
                    max_bytes);
  out->resize(static_cast<std::size_t>(size));
  return pread_full(path, f.fd, 0, out->data(), out->size(), err);
}

Status write_image_file(const char* path, const ImageSection* sections, int n, Error* err) {
  const std::size_t bytes = image_bytes(sections, n);
  if (bytes == 0) return err->set(Status::invalid_argument, "%s: bad section list", path);
  std::vector<unsigned char> b(bytes);
  if (write_image(sections, n, b.data(), b.size()) != bytes)
    return err->set(Status::invalid_argument, "%s: cannot encode the file", path);
  return write_file_atomic(path, b.data(), b.size(), err);
}

Status save_model(const char* path, const ModelSpec& spec, const float* params, std::size_t n, Error* err) {
  unsigned char layers[kLayerTableMaxBytes];
  const std::size_t lb = encode_layer_table(spec, layers);
  if (lb == 0) return err->set(Status::invalid_model, "%s: refusing to save an invalid model", path);
  if (n != param_count(spec))
    return err->set(Status::shape_mismatch, "%s: %zu parameters for a model of %zu", path, n, param_count(spec));
  const ImageSection sections[] = {
      {kTagLayers, ImageDtype::bytes, layers, lb, 0, 0},
      {kTagParams, ImageDtype::f32, reinterpret_cast<const unsigned char*>(params), n * sizeof(float), 0, 0},
  };
  return write_image_file(path, sections, 2, err);
}

Status load_model(const char* path, LoadedModel* out, Error* err) {
  std::vector<unsigned char> b;
  Status s = read_file(path, kMaxModelFileBytes, &b, err);
  if (s != Status::ok) return s;
  ModelImage img;
  ImageError why;
  if (parse_model_image(b.data(), b.size(), &img, &why) != Status::ok) return image_error(path, why, err);
  out->spec = img.spec;
  out->params.resize(img.param_floats);
  if (img.param_floats) std::memcpy(out->params.data(), img.params, img.param_floats * sizeof(float));
  return Status::ok;
}

Status probe_model_file(const char* path, ModelSpec* spec, Error* err) {
  Fd f;
  uint64_t size = 0;
  Status s = open_sized(path, &f, &size, err);
  if (s != Status::ok) return s;
  Image img;
  const ImageSection* params = nullptr;
  return probe(path, f.fd, size, &img, spec, &params, err);
}

Status load_model_into(const char* path, const PlanOptions& opts, void* arena, std::size_t arena_size, Model* m,
                       Error* err) {
  Fd f;
  uint64_t size = 0;
  Status s = open_sized(path, &f, &size, err);
  if (s != Status::ok) return s;
  Image img;
  ModelSpec spec;
  const ImageSection* ps = nullptr;
  s = probe(path, f.fd, size, &img, &spec, &ps, err);
  if (s != Status::ok) return s;
  const std::size_t need = arena_bytes(spec, opts);
  if (need == 0) return err->set(Status::invalid_argument, "%s: the plan options do not fit this model", path);
  s = m->bind(spec, opts, arena, arena_size);
  if (s == Status::arena_too_small)
    return err->set(s, "%s: the model needs an arena of %zu bytes, %zu given", path, need, arena_size);
  if (s != Status::ok) return err->set(s, "%s: cannot bind the model: %s", path, status_message(s));
  unsigned char chunk[kChunk];
  uint32_t crc = 0;
  for (std::size_t done = 0; done < ps->bytes;) {
    const std::size_t n = ps->bytes - done < kChunk ? ps->bytes - done : kChunk;
    s = pread_full(path, f.fd, ps->offset + done, chunk, n, err);
    if (s != Status::ok) return s;
    crc = crc32_update(crc, chunk, n);
    set_params_range(m, done / 4, chunk, n / 4);
    done += n;
  }
  if (crc != ps->crc)
    return err->set(Status::bad_file, "%s: the file changed while being read (parameter checksum mismatch)", path);
  return Status::ok;
}

}  // namespace mote::io
