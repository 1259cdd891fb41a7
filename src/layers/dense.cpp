#include "layers/dense.h"

namespace mote::layers {

using gemm::GemmProblem;
using gemm::Op;

namespace {

GemmProblem forward_problem(const BoundLayer& l, ConstMatrixView x, MatrixView y) {
  GemmProblem p;
  p.m = x.rows;
  p.n = l.spec.out;
  p.k = l.spec.in;
  p.a = x.data;
  p.lda = x.stride;
  p.op_a = Op::N;
  p.b = l.kernel;
  if (l.spec.kind == LayerKind::dense) {
    p.op_b = Op::N;  // W [in][out]
    p.ldb = l.spec.out;
  } else {
    p.op_b = Op::T;  // Wp [out][in], read transposed where it lies
    p.ldb = l.spec.in;
  }
  p.c = y.data;
  p.ldc = y.stride;
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

void backward(const BoundLayer& l, ConstMatrixView x, ConstMatrixView dz, MatrixView dx, Activation prev_act,
              float* prev_dbias, Scratch s, bool accumulate_dw, const GemmProblem* dw_also) {
  const bool dense = l.spec.kind == LayerKind::dense;
  if (l.dkernel) {
    const GemmProblem p = dw_problem(l, x, dz, accumulate_dw);
    if (dw_also)
      gemm::run_sum(p, *dw_also, s.data, s.floats);
    else
      gemm::run(p, s.data, s.floats);
  }
  if (l.needs_dx) {
    GemmProblem p;
    p.m = dz.rows;
    p.n = l.spec.in;
    p.k = l.spec.out;
    p.a = dz.data;
    p.lda = dz.stride;
    p.op_a = Op::N;
    p.b = l.kernel;
    if (dense) {  // dx = dz W^T, W [in][out]
      p.op_b = Op::T;
      p.ldb = l.spec.out;
    } else {  // dx = dz Wp, Wp [out][in]
      p.op_b = Op::N;
      p.ldb = l.spec.in;
    }
    p.c = dx.data;
    p.ldc = dx.stride;
    p.ep.dact_y = x.data;
    p.ep.ld_dact = x.stride;
    p.ep.dact = prev_act;
    p.ep.colsum = prev_dbias;
    gemm::run(p, s.data, s.floats);
  }
}

}  // namespace mote::layers
