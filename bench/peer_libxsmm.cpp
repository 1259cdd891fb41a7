// LIBXSMM peer (1.17): a JIT kernel dispatched once per shape, outside the
// timed loop. LIBXSMM is column-major: row-major C = op(A) op(B) is run as
// column-major C^T = op(B)^T op(A)^T, i.e. the operands swap and a row-major
// transpose becomes a column-major one.
#include <libxsmm.h>

#include "peers.h"

namespace bench {

bool gemm_libxsmm(const Gemm& g, GemmBuffers& buf, benchmark::State& st) {
  static const bool once = [] {
    libxsmm_init();
    return true;
  }();
  (void)once;
  int flags = 0;
  if (g.layout == Layout::NT) flags |= LIBXSMM_GEMM_FLAG_TRANS_A;  // B^T is the column-major "A"
  if (g.layout == Layout::TN) flags |= LIBXSMM_GEMM_FLAG_TRANS_B;
  const libxsmm_blasint m = g.n, n = g.m, k = g.k;
  const libxsmm_blasint lda = g.ldb(), ldb = g.lda(), ldc = g.ldc();
  const float alpha = 1.0f, beta = g.accumulate ? 1.0f : 0.0f;
  const libxsmm_smmfunction f =
      libxsmm_smmdispatch(m, n, k, &lda, &ldb, &ldc, &alpha, &beta, &flags, nullptr);
  if (f == nullptr) {
    st.SkipWithError("libxsmm has no JIT kernel for this layout");
    return false;
  }
  for (auto _ : st) {
    f(buf.b.data(), buf.a.data(), buf.c.data());
    keep(buf.c.data());
  }
  return true;
}

}  // namespace bench
