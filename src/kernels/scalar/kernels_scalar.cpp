// Scalar kernel set: the same contract as the SIMD sets in plain C++ (the
// compiler may vectorize it for the baseline ISA). It is what runs on a CPU
// without AVX2, on Cortex-M, and under MOTE_ISA=scalar. Not the oracle: that
// is ref/gemm_ref.cpp.
#include <cmath>

#include "kernels/activation.h"
#include "kernels/registry.h"
#include "kernels/tiles.h"

namespace mote::kernels {

namespace {

constexpr tiles::Table T = tiles::kScalar;

// Row r, columns j0 .. j0 + nr - 1 of the tile: the store step. (Offsets
// rather than a moved copy of t: a TileArgs copy per call was ~100 bytes of
// a Cortex-M stack.)
void finish_row(const TileArgs& t, int r, int j0, int nr, const float* vals) {
  float* c = t.c + r * t.ldc + j0;
  for (int j = 0; j < nr; ++j) {
    float x = vals[j];
    if (t.load_c) x += c[j];
    if (t.last) {
      if (t.bias) x += t.bias[j0 + j];
      x = activate(t.act, x);
      if (t.dact_y) x *= derivative_from_output(t.dact, t.dact_y[r * t.ld_dact + j0 + j]);
      if (t.colsum) t.colsum[j0 + j] += x;
    }
    c[j] = x;
  }
}

// Rows 0 .. rows - 1, B rows ldb apart (packed: ldb = nr), C's columns from jc.
void tile_rows(const TileArgs& t, int rows, const float* b0, std::ptrdiff_t ldb, int jc) {
  for (int r0 = 0; r0 < rows; r0 += T.mr) {
    const int mr = rows - r0 < T.mr ? rows - r0 : T.mr;
    for (int j0 = 0; j0 < t.nr; j0 += T.nv) {
      const int nr = t.nr - j0 < T.nv ? t.nr - j0 : T.nv;
      float acc[T.mr][T.nv] = {};
      const float* b = b0 + j0;
      for (int s = 0; s < k_segments(t); ++s) {
        const float* ak = segment_a(t, s);
        for (int k = 0; k < segment_kc(t, s); ++k, ak += t.cs_a, b += ldb)
          for (int r = 0; r < mr; ++r) {
            const float a = ak[(r0 + r) * t.rs_a];
            for (int j = 0; j < nr; ++j) acc[r][j] += a * b[j];
          }
      }
      for (int r = 0; r < mr; ++r) finish_row(t, r0 + r, jc + j0, nr, acc[r]);
    }
  }
}

void tile_packed(const TileArgs& t) {
#if MOTE_GEMM_PACKING  // run_packed's sweeps (firmware does not pack: 72 bytes of flash)
  for (int p = 0; p < t.panels; ++p)
    tile_rows(t, t.mr, t.b + static_cast<std::ptrdiff_t>(p) * t.kc * t.nr, t.nr, p * t.nr);
#else
  tile_rows(t, t.mr, t.b, t.nr, 0);
#endif
}
void tile_direct(const TileArgs& t) { tile_rows(t, t.mr, t.b, t.ldb, 0); }

void tile_dot(const TileArgs& t) {
  for (int r = 0; r < t.mr; ++r) {
    float vals[T.dot_nj];
    for (int j = 0; j < t.nr; ++j) {
      const float* a = t.a + r * t.rs_a;
      const float* b = t.b + j * t.ldb;
      float s = 0.0f;
      for (int k = 0; k < t.kc; ++k) s += a[k] * b[k];
      vals[j] = s;
    }
    finish_row(t, r, 0, t.nr, vals);
  }
}

// Batch 1: the tiles cover any nr for NN; NT in runs of dot_nj columns.
void gemv_nn(const TileArgs& t) { tile_rows(t, t.mr, t.b, t.ldb, 0); }
void gemv_nt(const TileArgs& t) {
  for (int j = 0; j < t.nr; j += T.dot_nj) {
    TileArgs s = columns_from(t, j);
    s.nr = t.nr - j < T.dot_nj ? t.nr - j : T.dot_nj;
    s.b = t.b + static_cast<std::ptrdiff_t>(j) * t.ldb;
    tile_dot(s);
  }
}

void pack_b(const PackArgs& p) {
  // Scalar panels are nr wide, no padding (one "vector" is one float).
  const int nr = T.nv;
  for (int j0 = 0; j0 < p.nc; j0 += nr) {
    const int w = p.nc - j0 < nr ? p.nc - j0 : nr;
    float* dst = p.panel(j0, w);
    for (int k = 0; k < p.kc; ++k)
      for (int j = 0; j < w; ++j)
        dst[k * w + j] = p.op == Op::N ? p.b[k * p.ldb + j0 + j] : p.b[(j0 + j) * p.ldb + k];
  }
}

float bce_sigmoid_row(const float* y, const float* t, float* dz, int n, float scale) {
  float sum = 0.0f;
  for (int j = 0; j < n; ++j) {
    const float p = y[j];
    const float tt = t[j];
    const bool inside = p > 1e-7f && p < 1.0f - 1e-7f;
    const float pc = inside ? p : (p <= 1e-7f ? 1e-7f : 1.0f - 1e-7f);
    sum -= tt * std::log(pc) + (1.0f - tt) * std::log(1.0f - pc);
    if (dz) dz[j] = inside ? (p - tt) * scale : 0.0f;
  }
  return sum;
}

bool sgd(float* w, const float* g, float lr, std::size_t n) {
  float acc = 0.0f;  // NaN and inf survive * 0
  for (std::size_t i = 0; i < n; ++i) {
    w[i] -= lr * g[i];
    acc += w[i] * 0.0f;
  }
  return acc == 0.0f;
}

unsigned sgd_swap(float* w, float* g, float lr, std::size_t n) {
  float acc_g = 0.0f, acc_w = 0.0f;  // NaN and inf survive * 0
  for (std::size_t i = 0; i < n; ++i) {
    const float old = w[i], grad = g[i];
    w[i] -= lr * grad;
    g[i] = old;
    acc_g += grad * 0.0f;
    acc_w += w[i] * 0.0f;
  }
  return (acc_g == 0.0f ? 0u : kUpdateGradNonFinite) | (acc_w == 0.0f ? 0u : kUpdateWeightNonFinite);
}

bool all_finite(const float* x, std::size_t n) {
  float acc[4] = {};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int q = 0; q < 4; ++q) acc[q] += x[i + q] * 0.0f;  // NaN and inf survive * 0
  for (; i < n; ++i) acc[0] += x[i] * 0.0f;
  return acc[0] + acc[1] + acc[2] + acc[3] == 0.0f;
}

void act_forward(Activation act, const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = activate(act, x[i]);
}
void exp_array(const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}
void expm1_array(const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = std::expm1(x[i]);
}
void u8_to_f32(const uint8_t* src, float* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
}

constexpr IsaKernels kScalar{"scalar",  1,           T.mr,      T.nv,          T.kc,        T.mc,        T.nc,
                             T.dot_mr,  T.dot_nj,    0,           &tile_packed, &tile_direct, false, &tile_dot, &gemv_nn, &gemv_nt,
                             nullptr, nullptr, nullptr, nullptr, &pack_b,
                             &bce_sigmoid_row, nullptr, &sgd, &sgd_swap, &all_finite, &act_forward, &exp_array, &expm1_array,
                             &u8_to_f32};

}  // namespace

const IsaKernels& scalar_kernels() { return kScalar; }

}  // namespace mote::kernels
