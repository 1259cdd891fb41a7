// IDX files (the MNIST format), plain or gzipped, read with zlib.
//
//   mote::io::Error err;
//   mote::io::Images img;
//   if (mote::io::read_idx_images("train-images-idx3-ubyte.gz", 0, &img, &err) != mote::Status::ok)
//     fprintf(stderr, "%s\n", err.message);
//
// Every header field is checked (magic 0x00000803, dimensions, that the
// payload is exactly rows*cols*count bytes); pixels become floats / 255.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "io/error.h"
#include "mote/tensor.h"

namespace mote::io {

struct Images {
  std::vector<float> pixels;  // count x (rows*cols), row-major
  int count = 0;
  int rows = 0;
  int cols = 0;
  int width() const { return rows * cols; }
  ConstMatrixView view(int first = 0, int n = -1) const {
    if (n < 0) n = count - first;
    return {pixels.data() + static_cast<std::size_t>(first) * width(), n, width(), width()};
  }
};

// Reads the whole file; `limit` > 0 keeps only the first `limit` images (the
// rest of the file is still validated).
Status read_idx_images(const char* path, int limit, Images* out, Error* err);
// Parses an IDX image file already in memory (uncompressed).
Status parse_idx_images(const uint8_t* data, std::size_t size, const char* name, int limit, Images* out, Error* err);

// The Fashion-MNIST splits of the reference: the first 55,000 training images
// train, the last 5,000 validate, the t10k file tests. `limit` > 0 keeps at
// most that many images of each split.
struct Dataset {
  Images train_file;
  Images test;
  int train_rows = 0;
  int valid_rows = 0;
  ConstMatrixView train() const { return train_file.view(0, train_rows); }
  ConstMatrixView valid() const { return train_file.view(kTrainSplit, valid_rows); }
  static constexpr int kTrainSplit = 55000;
};
inline constexpr const char* kDefaultDataDir = "/usr/share/datasets/fashion-mnist";
Status load_fashion_mnist(const char* dir, int limit, Dataset* out, Error* err);

}  // namespace mote::io
