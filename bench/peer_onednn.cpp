// oneDNN peer: dnnl_sgemm (row-major, JIT kernels), one OpenMP thread.
#include <dnnl.h>

#include "peers.h"

extern "C" void omp_set_num_threads(int);

namespace bench {

bool gemm_onednn(const Gemm& g, GemmBuffers& buf, benchmark::State& st) {
  static const bool once = [] {
    omp_set_num_threads(1);
    return true;
  }();
  (void)once;
  const char ta = g.layout == Layout::TN ? 'T' : 'N';
  const char tb = g.layout == Layout::NT ? 'T' : 'N';
  const float beta = g.accumulate ? 1.0f : 0.0f;
  for (auto _ : st) {
    if (dnnl_sgemm(ta, tb, g.m, g.n, g.k, 1.0f, buf.a.data(), g.lda(), buf.b.data(), g.ldb(), beta, buf.c.data(),
                   g.ldc()) != dnnl_success) {
      st.SkipWithError("dnnl_sgemm failed");
      return false;
    }
    keep(buf.c.data());
  }
  return true;
}

}  // namespace bench
