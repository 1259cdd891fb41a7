#include <cmath>

#include "gemm/gemm.h"
#include "kernels/activation.h"
#include "mote/train.h"

namespace mote {

double loss_forward_backward(Loss loss, Activation out_act, ConstMatrixView y, ConstMatrixView t, MatrixView* dz) {
  const double n = static_cast<double>(y.rows) * y.cols;
  const float scale = static_cast<float>(1.0 / n);
  double sum = 0.0;
  if (loss == Loss::binary_crossentropy) {  // fused, vectorized: kernels' bce_sigmoid_row
    for (int r = 0; r < y.rows; ++r)
      sum += gemm::bce_sigmoid_row(y.row(r), t.row(r), dz ? dz->row(r) : nullptr, y.cols, scale);
    return sum;
  }
  for (int r = 0; r < y.rows; ++r) {
    const float* yr = y.row(r);
    const float* tr = t.row(r);
    float* dr = dz ? dz->row(r) : nullptr;
    float row_sum = 0.0f;
    for (int j = 0; j < y.cols; ++j) {
      const float p = yr[j];
      const float tt = tr[j];
      if (loss == Loss::binary_crossentropy) {
        const bool inside = p > kBceEpsilon && p < 1.0f - kBceEpsilon;
        const float pc = inside ? p : (p <= kBceEpsilon ? kBceEpsilon : 1.0f - kBceEpsilon);
        row_sum -= tt * std::log(pc) + (1.0f - tt) * std::log(1.0f - pc);
        // d/dz of BCE(sigmoid(z)) is p - t; zero where the clip is active.
        if (dr) dr[j] = inside ? (p - tt) * scale : 0.0f;
      } else {
        const float d = p - tt;
        row_sum += d * d;
        if (dr) dr[j] = 2.0f * d * scale * kernels::derivative_from_output(out_act, p);
      }
    }
    sum += row_sum;
  }
  return sum;
}

std::size_t rounded_matches(ConstMatrixView y, ConstMatrixView t) {
  std::size_t hits = 0;
  for (int r = 0; r < y.rows; ++r) {
    const float* yr = y.row(r);
    const float* tr = t.row(r);
    // round() half away from zero, as numpy's rint differs only at exactly .5.
    // On [0, 1.5) (probabilities and pixels) round(v) is v >= 0.5, without
    // a libm call per element (round was ~6% of a `mote train` run).
    for (int j = 0; j < y.cols; ++j) {
      const float a = yr[j], b = tr[j];
      if (a >= 0.0f && a < 1.5f && b >= 0.0f && b < 1.5f)
        hits += (a >= 0.5f) == (b >= 0.5f);
      else
        hits += std::round(a) == std::round(b);
    }
  }
  return hits;
}

}  // namespace mote
