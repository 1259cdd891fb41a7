// mote/tensor.h - non-owning row-major matrix views.
//
//   float buf[32 * 784];
//   mote::MatrixView x{buf, 32, 784, 784};   // 32 rows, 784 columns
//   x.at(3, 5) = 1.0f;
//
// A view never owns or frees memory; `stride` is the distance in elements
// between the starts of two rows (>= cols), so a view can name a sub-block.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mote {

template <class T>
struct Matrix {
  T* data = nullptr;
  int rows = 0;
  int cols = 0;
  int stride = 0;

  constexpr T& at(int r, int c) const { return data[static_cast<std::ptrdiff_t>(r) * stride + c]; }
  constexpr T* row(int r) const { return data + static_cast<std::ptrdiff_t>(r) * stride; }
  constexpr Matrix rows_from(int r0, int n) const { return {row(r0), n, cols, stride}; }
  constexpr operator Matrix<const T>() const { return {data, rows, cols, stride}; }
};

using MatrixView = Matrix<float>;
using ConstMatrixView = Matrix<const float>;
// Rows of bytes, e.g. 8-bit pixels as an image file stores them (training
// reads them as byte / 255: see train_epoch).
using ByteMatrixView = Matrix<const uint8_t>;

}  // namespace mote
