// One benchmark GEMM row (bench_common.h's Gemm on its buffers) as mote's
// GemmProblem, with the scratch the planner gives the tied model at that
// batch: what mote_bench's gemm/mote rows and bench/ab-kernels both run.
#pragma once
#include <cstddef>

#include "bench_common.h"
#include "gemm/gemm.h"
#include "mote/spec.h"

namespace bench {

inline mote::gemm::GemmProblem mote_problem(const Gemm& g, const GemmBuffers& buf) {
  mote::gemm::GemmProblem p;
  p.m = g.m;
  p.n = g.n;
  p.k = g.k;
  p.op_a = g.layout == Layout::TN ? mote::gemm::Op::T : mote::gemm::Op::N;
  p.op_b = g.layout == Layout::NT ? mote::gemm::Op::T : mote::gemm::Op::N;
  p.a = buf.a.data();
  p.lda = g.lda();
  p.b = buf.b.data();
  p.ldb = g.ldb();
  p.c = buf.c.data();
  p.ldc = g.ldc();
  p.accumulate = g.accumulate;
  return p;
}

inline std::size_t mote_scratch_floats(const Gemm& g) {
  const int batch = g.layout == Layout::TN ? g.k : g.m;
  return mote::gemm_scratch_floats(batch, 784) + 16;
}

}  // namespace bench
