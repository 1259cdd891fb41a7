#include "layers/dense.h"

namespace mote::layers {

using gemm::GemmProblem;
using gemm::Op;

namespace {

// The products with the kernel, read where it lies (W [in][out] for Dense,
// Wp [out][in] for DenseTranspose): c = a * op(W) forward, c = a * op(W)^T
// for the input gradient (`back`).
GemmProblem kernel_product(const BoundLayer& l, ConstMatrixView a, MatrixView c, bool back) {
  const bool dense = l.spec.kind == LayerKind::dense;
  GemmProblem p;
  p.m = a.rows;
  p.n = back ? l.spec.in : l.spec.out;
  p.k = back ? l.spec.out : l.spec.in;
  p.a = a.data;
  p.lda = a.stride;
  p.op_a = Op::N;
  p.b = l.kernel;
  p.ldb = dense ? l.spec.out : l.spec.in;
  p.op_b = dense == back ? Op::T : Op::N;
  p.c = c.data;
  p.ldc = c.stride;
  return p;
}

GemmProblem forward_problem(const BoundLayer& l, ConstMatrixView x, MatrixView y) {
  GemmProblem p = kernel_product(l, x, y, false);
  p.ep.bias = l.bias;
  p.ep.act = l.spec.act;
  return p;
}

}  // namespace

void forward(const BoundLayer& l, ConstMatrixView x, MatrixView y, Scratch s) {
  gemm::run(forward_problem(l, x, y), s.data, s.floats);
}

double forward_bce(const BoundLayer& l, ConstMatrixView x, MatrixView dz, ConstMatrixView t, float scale, Scratch s) {
  return gemm::run_sigmoid_bce(forward_problem(l, x, dz), t.data, t.stride, scale, s.data, s.floats);
}

GemmProblem dw_problem(const BoundLayer& l, ConstMatrixView x, ConstMatrixView dz, bool accumulate) {
  GemmProblem p;
  p.accumulate = accumulate;  // a tied kernel collects both uses
  p.k = x.rows;
  p.op_a = Op::T;
  // Dense: dW[in][out] += x^T dz; DenseTranspose: dWp[out][in] += dz^T x.
  const bool dense = l.spec.kind == LayerKind::dense;
  const ConstMatrixView a = dense ? x : dz, b = dense ? dz : x;
  p.m = a.cols;
  p.n = b.cols;
  p.a = a.data;
  p.lda = a.stride;
  p.b = b.data;
  p.ldb = b.stride;
  p.ldc = b.cols;
  p.op_b = Op::N;
  p.c = l.dkernel;
  return p;
}

void backward_dw(const BoundLayer& l, ConstMatrixView x, ConstMatrixView dz, Scratch s, bool accumulate,
                 const DwShare* also, kernels::SgdUpdate update) {
  GemmProblem p = dw_problem(l, x, dz, accumulate);
  p.update = update;  // run_sum applies it after both shares
#if MOTE_GEMM_PACKING
  if (also != nullptr) return gemm::run_sum(p, dw_problem(*also->layer, also->x, also->dz, true), s.data, s.floats);
#else
  (void)also;  // the model defers nothing without packing (see Model::backward)
#endif
  gemm::run(p, s.data, s.floats);
}

void backward_dx(const BoundLayer& l, ConstMatrixView x, ConstMatrixView dz, MatrixView dx, Activation prev_act,
                 float* prev_dbias, Scratch s) {
  GemmProblem p = kernel_product(l, dz, dx, true);
  p.ep.dact_y = x.data;
  p.ep.ld_dact = x.stride;
  p.ep.dact = prev_act;
  p.ep.colsum = prev_dbias;
  gemm::run(p, s.data, s.floats);
}

}  // namespace mote::layers
