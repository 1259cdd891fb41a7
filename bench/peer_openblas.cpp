// OpenBLAS peer: cblas_sgemm, row-major, one thread (openblas_set_num_threads(1)).
#include <cblas.h>

#include "peers.h"

namespace bench {

bool gemm_openblas(const Gemm& g, GemmBuffers& buf, benchmark::State& st) {
  static const bool once = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)once;
  const CBLAS_TRANSPOSE ta = g.layout == Layout::TN ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = g.layout == Layout::NT ? CblasTrans : CblasNoTrans;
  const float beta = g.accumulate ? 1.0f : 0.0f;
  for (auto _ : st) {
    cblas_sgemm(CblasRowMajor, ta, tb, g.m, g.n, g.k, 1.0f, buf.a.data(), g.lda(), buf.b.data(), g.ldb(), beta,
                buf.c.data(), g.ldc());
    keep(buf.c.data());
  }
  return true;
}

}  // namespace bench
