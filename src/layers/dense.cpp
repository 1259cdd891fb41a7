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

void backward(const BoundLayer& l, ConstMatrixView x, ConstMatrixView dz, MatrixView dx, Activation prev_act,
              float* prev_dbias, Scratch s, bool accumulate_dw) {
  const bool dense = l.spec.kind == LayerKind::dense;
  if (l.dkernel) {
    GemmProblem p;
    p.accumulate = accumulate_dw;  // a tied kernel collects both uses
    p.k = x.rows;
    p.op_a = Op::T;
    if (dense) {  // dW[in][out] += x^T dz
      p.m = l.spec.in;
      p.n = l.spec.out;
      p.a = x.data;
      p.lda = x.stride;
      p.b = dz.data;
      p.ldb = dz.stride;
      p.ldc = l.spec.out;
    } else {  // dWp[out][in] += dz^T x
      p.m = l.spec.out;
      p.n = l.spec.in;
      p.a = dz.data;
      p.lda = dz.stride;
      p.b = x.data;
      p.ldb = x.stride;
      p.ldc = l.spec.in;
    }
    p.op_b = Op::N;
    p.c = l.dkernel;
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
