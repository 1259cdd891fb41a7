#include "io/idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "gemm/gemm.h"

namespace mote::io {

namespace {

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned byte, 3 dimensions
constexpr int kMaxSide = 4096;
// The most pixels one file may hold: they become floats in one allocation, so
// a header's claim is bounded before anything is allocated (2^28 pixels = 1 GiB
// of floats on 64-bit hosts, 2^26 on 32-bit ones). Fashion-MNIST's training
// file holds 47 million.
constexpr uint64_t kMaxPixels = sizeof(std::size_t) > 4 ? uint64_t{1} << 28 : uint64_t{1} << 26;
// Bytes read per gzread chunk.
constexpr std::size_t kChunkBytes = std::size_t{1} << 22;

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

Status check_header(const uint8_t* h, const char* name, uint32_t* count, uint32_t* rows, uint32_t* cols, Error* err) {
  const uint32_t magic = be32(h);
  if (magic != kImagesMagic)
    return err->set(Status::bad_file, "%s: not an IDX image file (magic 0x%08x, expected 0x%08x)", name, magic,
                    kImagesMagic);
  *count = be32(h + 4);
  *rows = be32(h + 8);
  *cols = be32(h + 12);
  if (*rows == 0 || *cols == 0 || *rows > kMaxSide || *cols > kMaxSide)
    return err->set(Status::bad_file, "%s: bad image size %ux%u", name, *rows, *cols);
  if (*count == 0 || *count > (1u << 24))
    return err->set(Status::bad_file, "%s: bad image count %u", name, *count);
  if (uint64_t{*rows} * *cols * *count > kMaxPixels)
    return err->set(Status::bad_file, "%s: %u images of %ux%u exceed the limit of %llu pixels", name, *count, *rows,
                    *cols, static_cast<unsigned long long>(kMaxPixels));
  return Status::ok;
}

// Sizes *out for `pixels` pixels in `format` (the other form emptied).
void allocate(Images* out, std::size_t pixels, PixelFormat format) {
  if (format == PixelFormat::bytes) {
    out->bytes.assign(pixels, 0);
    out->pixels = {};
  } else {
    out->pixels.assign(pixels, 0.0f);
    out->bytes = {};
  }
}

// Stores n pixels at pixel offset `at` of *out, sized by allocate().
void store(const uint8_t* src, std::size_t n, std::size_t at, PixelFormat format, Images* out) {
  if (format == PixelFormat::bytes)
    std::memcpy(out->bytes.data() + at, src, n);
  else
    pixels_to_floats(src, n, out->pixels.data() + at);
}

}  // namespace

void pixels_to_floats(const uint8_t* src, std::size_t n, float* dst) { gemm::u8_to_f32(src, dst, n); }

Status parse_idx_images(const uint8_t* data, std::size_t size, const char* name, int limit, Images* out, Error* err,
                        PixelFormat format) {
  if (size < 16) return err->set(Status::bad_file, "%s: truncated IDX header (%zu bytes)", name, size);
  uint32_t count = 0, rows = 0, cols = 0;  // set by check_header (GCC 12 cannot see it once inlined)
  if (check_header(data, name, &count, &rows, &cols, err) != Status::ok) return err->status;
  const std::size_t img = static_cast<std::size_t>(rows) * cols;
  const std::size_t want = img * count;  // bounded by kMaxPixels: no wrap
  if (size - 16 != want)
    return err->set(Status::bad_file, "%s: payload is %zu bytes, the header says %u images of %ux%u = %zu", name,
                    size - 16, count, rows, cols, want);
  const uint32_t keep = limit > 0 && static_cast<uint32_t>(limit) < count ? static_cast<uint32_t>(limit) : count;
  out->count = static_cast<int>(keep);
  out->rows = static_cast<int>(rows);
  out->cols = static_cast<int>(cols);
  allocate(out, img * keep, format);
  store(data + 16, img * keep, 0, format, out);
  return Status::ok;
}

Status read_idx_images(const char* path, int limit, Images* out, Error* err, PixelFormat format) {
  gzFile f = gzopen(path, "rb");
  if (!f) return err->set(Status::io_error, "%s: cannot open: %s", path, std::strerror(errno));
  struct Closer {
    gzFile f;
    ~Closer() { gzclose(f); }
  } closer{f};
  gzbuffer(f, 1 << 17);
  uint8_t h[16];
  int got = gzread(f, h, sizeof h);
  if (got < 0) {
    int code;
    return err->set(Status::bad_file, "%s: corrupt gzip stream: %s", path, gzerror(f, &code));
  }
  if (got < 16) return err->set(Status::bad_file, "%s: truncated IDX header (%d bytes)", path, got);
  uint32_t count = 0, rows = 0, cols = 0;  // set by check_header (GCC 12 cannot see it once inlined)
  if (check_header(h, path, &count, &rows, &cols, err) != Status::ok) return err->status;
  const std::size_t img = static_cast<std::size_t>(rows) * cols;
  const uint32_t keep = limit > 0 && static_cast<uint32_t>(limit) < count ? static_cast<uint32_t>(limit) : count;
  out->count = static_cast<int>(keep);
  out->rows = static_cast<int>(rows);
  out->cols = static_cast<int>(cols);
  allocate(out, img * keep, format);
  const std::size_t per_chunk = img < kChunkBytes ? kChunkBytes / img : 1;  // images
  std::vector<uint8_t> chunk(img * per_chunk);
  std::size_t done = 0;  // images read
  while (done < count) {
    const std::size_t n = count - done < per_chunk ? count - done : per_chunk;
    const std::size_t bytes = n * img;
    std::size_t have = 0;
    while (have < bytes) {
      const unsigned ask = static_cast<unsigned>(bytes - have < (1u << 30) ? bytes - have : (1u << 30));
      got = gzread(f, chunk.data() + have, ask);
      if (got < 0) {
        int code;
        return err->set(Status::bad_file, "%s: corrupt gzip stream: %s", path, gzerror(f, &code));
      }
      if (got == 0) {
        return err->set(Status::bad_file, "%s: truncated: the header says %u images, the file holds %zu", path,
                        count, done + have / img);
      }
      have += static_cast<std::size_t>(got);
    }
    if (done < keep) {
      const std::size_t k = keep - done < n ? keep - done : n;
      store(chunk.data(), k * img, done * img, format, out);
    }
    done += n;
  }
  uint8_t extra;
  got = gzread(f, &extra, 1);
  if (got < 0) {
    int code;
    return err->set(Status::bad_file, "%s: corrupt gzip stream: %s", path, gzerror(f, &code));
  }
  if (got > 0) return err->set(Status::bad_file, "%s: trailing bytes after %u images", path, count);
  return Status::ok;
}

Status load_fashion_mnist(const char* dir, int limit, Dataset* out, Error* err) {
  const std::string d(dir);
  const std::string train = d + "/train-images-idx3-ubyte.gz";
  const std::string test = d + "/t10k-images-idx3-ubyte.gz";
  if (read_idx_images(train.c_str(), 0, &out->train_file, err, PixelFormat::bytes) != Status::ok) return err->status;
  if (out->train_file.count <= Dataset::kTrainSplit || out->train_file.width() != 784)
    return err->set(Status::bad_file, "%s: expected more than %d images of 28x28, got %d of %dx%d", train.c_str(),
                    Dataset::kTrainSplit, out->train_file.count, out->train_file.rows, out->train_file.cols);
  if (read_idx_images(test.c_str(), limit, &out->test, err) != Status::ok) return err->status;
  if (out->test.width() != 784)
    return err->set(Status::bad_file, "%s: expected 28x28 images, got %dx%d", test.c_str(), out->test.rows,
                    out->test.cols);
  const int valid = out->train_file.count - Dataset::kTrainSplit;
  out->train_rows = limit > 0 && limit < Dataset::kTrainSplit ? limit : Dataset::kTrainSplit;
  out->valid_rows = limit > 0 && limit < valid ? limit : valid;
  const std::size_t valid_pixels = static_cast<std::size_t>(out->valid_rows) * static_cast<std::size_t>(out->train_file.width());
  out->valid_pixels.assign(valid_pixels, 0.0f);
  pixels_to_floats(out->train_file.byte_view(Dataset::kTrainSplit).data, valid_pixels, out->valid_pixels.data());
  return Status::ok;
}

}  // namespace mote::io
