// IDX files (the MNIST format), plain or gzipped, read with zlib.
//
//   mote::io::Error err;
//   mote::io::Images img;
//   if (mote::io::read_idx_images("train-images-idx3-ubyte.gz", 0, &img, &err) != mote::Status::ok)
//     fprintf(stderr, "%s\n", err.message);
//
// Every header field is checked (magic 0x00000803, dimensions, that the
// payload is exactly rows*cols*count bytes); pixels become floats / 255, or
// stay the bytes the file stores (PixelFormat::bytes, a quarter of the memory).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "io/error.h"
#include "mote/tensor.h"

namespace mote::io {

// What a reader keeps of the pixels: floats (byte / 255.0f) or the bytes.
enum class PixelFormat : uint8_t { floats, bytes };

struct Images {
  std::vector<float> pixels;   // count x (rows*cols), row-major (PixelFormat::floats; else empty)
  std::vector<uint8_t> bytes;  // the same as stored (PixelFormat::bytes; else empty)
  int count = 0;
  int rows = 0;
  int cols = 0;
  int width() const { return rows * cols; }
  ConstMatrixView view(int first = 0, int n = -1) const {
    if (n < 0) n = count - first;
    return {pixels.data() + static_cast<std::size_t>(first) * width(), n, width(), width()};
  }
  ByteMatrixView byte_view(int first = 0, int n = -1) const {
    if (n < 0) n = count - first;
    return {bytes.data() + static_cast<std::size_t>(first) * width(), n, width(), width()};
  }
};

// dst[i] = src[i] / 255.0f (the active kernel set's u8_to_f32: bit for bit the division).
void pixels_to_floats(const uint8_t* src, std::size_t n, float* dst);

// Reads the whole file; `limit` > 0 keeps only the first `limit` images (the
// rest of the file is still validated).
Status read_idx_images(const char* path, int limit, Images* out, Error* err,
                       PixelFormat format = PixelFormat::floats);
// Parses an IDX image file already in memory (uncompressed).
Status parse_idx_images(const uint8_t* data, std::size_t size, const char* name, int limit, Images* out, Error* err,
                        PixelFormat format = PixelFormat::floats);

// The Fashion-MNIST splits of the reference: the first 55,000 training images
// train, the last 5,000 validate, the t10k file tests. `limit` > 0 keeps at
// most that many images of each split. The training rows stay bytes (47 MB
// instead of 188: training converts each batch, see train_epoch); the
// validation rows and the test file are floats, for evaluate().
struct Dataset {
  Images train_file;                // PixelFormat::bytes, all of the file's images
  std::vector<float> valid_pixels;  // the validation rows as floats
  Images test;                      // PixelFormat::floats
  int train_rows = 0;
  int valid_rows = 0;
  ByteMatrixView train() const { return train_file.byte_view(0, train_rows); }
  ConstMatrixView valid() const { return {valid_pixels.data(), valid_rows, train_file.width(), train_file.width()}; }
  static constexpr int kTrainSplit = 55000;
};
inline constexpr const char* kDefaultDataDir = "/usr/share/datasets/fashion-mnist";
Status load_fashion_mnist(const char* dir, int limit, Dataset* out, Error* err);

}  // namespace mote::io
