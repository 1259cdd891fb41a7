// Scalar reference GEMM: the oracle every fast path is tested against.
// Plain loops; only the loop order is chosen per layout so that the innermost
// loop walks contiguous memory.
#include <cmath>

#include "kernels/activation.h"
#include "kernels/gemm_problem.h"

namespace mote::kernels {

namespace {
inline float elem(const float* x, int ld, Op op, int r, int c) {
  return op == Op::N ? x[static_cast<std::ptrdiff_t>(r) * ld + c] : x[static_cast<std::ptrdiff_t>(c) * ld + r];
}
}  // namespace

void gemm_ref(const GemmProblem& p) {
  for (int i = 0; i < p.m; ++i) {
    float* crow = p.c + static_cast<std::ptrdiff_t>(i) * p.ldc;
    if (!p.accumulate)
      for (int j = 0; j < p.n; ++j) crow[j] = 0.0f;
    if (p.op_b == Op::N) {
      for (int kk = 0; kk < p.k; ++kk) {
        const float a = elem(p.a, p.lda, p.op_a, i, kk);
        const float* brow = p.b + static_cast<std::ptrdiff_t>(kk) * p.ldb;
        for (int j = 0; j < p.n; ++j) crow[j] += a * brow[j];
      }
    } else {
      for (int j = 0; j < p.n; ++j) {
        const float* bcol = p.b + static_cast<std::ptrdiff_t>(j) * p.ldb;  // row j of B = column j of op(B)
        float s = 0.0f;
        for (int kk = 0; kk < p.k; ++kk) s += elem(p.a, p.lda, p.op_a, i, kk) * bcol[kk];
        crow[j] += s;
      }
    }
    const Epilogue& e = p.ep;
    for (int j = 0; j < p.n; ++j) {
      float v = crow[j];
      if (e.bias) v += e.bias[j];
      v = activate(e.act, v);
      if (e.dact_y) v *= derivative_from_output(e.dact, e.dact_y[static_cast<std::ptrdiff_t>(i) * e.ld_dact + j]);
      crow[j] = v;
      if (e.colsum) e.colsum[j] += v;
    }
  }
  const SgdUpdate& u = p.update;
  if (u.w == nullptr) return;
  unsigned flags = 0;
  for (int i = 0; i < p.m; ++i)
    for (int j = 0; j < p.n; ++j) {
      const std::ptrdiff_t o = static_cast<std::ptrdiff_t>(i) * p.ldc + j;
      const float old = u.w[o], g = p.c[o];
      u.w[o] = old - u.lr * g;
      p.c[o] = old;
      if (!std::isfinite(g)) flags |= kUpdateGradNonFinite;
      if (!std::isfinite(u.w[o])) flags |= kUpdateWeightNonFinite;
    }
  if (u.flags) *u.flags |= flags;
}

}  // namespace mote::kernels
