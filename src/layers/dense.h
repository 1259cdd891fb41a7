// Dense and DenseTranspose, forward and backward, as GEMM problems with fused
// epilogues. A layer never sees an ISA: it states its problem and gemm::run
// picks the kernel.
//
//   Dense           y = act(x * W + b)     W [in][out]
//   DenseTranspose  y = act(x * Wp^T + b)  Wp [out][in], the partner's kernel in place
#pragma once
#include "gemm/gemm.h"
#include "mote/model.h"

namespace mote::layers {

struct Scratch {
  float* data = nullptr;
  std::size_t floats = 0;
};

// y[rows][out] = act(x * op(W) + b)
void forward(const BoundLayer& l, ConstMatrixView x, MatrixView y, Scratch s);

// The last layer of a training forward pass with a sigmoid output and the
// binary cross-entropy against t: dz[rows][out] = d(mean loss)/d(pre-
// activation) with `scale` = 1 / (rows * out) (gemm::run_sigmoid_bce);
// returns the loss sum.
double forward_bce(const BoundLayer& l, ConstMatrixView x, MatrixView dz, ConstMatrixView t, float scale, Scratch s);

// Backward through one layer, given dz = dL/d(pre-activation) [rows][out]
// and its input x. The bias gradient of THIS layer is the column sum of dz,
// produced by whoever wrote dz (the loss, or the next layer's dx epilogue).
//
// The kernel-gradient product: dkernel (+)= x^T dz (Dense) or dz^T x
// (DenseTranspose); `accumulate` false for the first writer of a (possibly
// shared) kernel.
gemm::GemmProblem dw_problem(const BoundLayer& l, ConstMatrixView x, ConstMatrixView dz, bool accumulate);

// A tied partner's share of the same kernel gradient, deferred by the model
// and added in this layer's pass over it (gemm::run_sum).
struct DwShare {
  const BoundLayer* layer = nullptr;
  ConstMatrixView x, dz;
};
// With `update` (its w: the kernel's weights), plain SGD is fused into the
// product (kernels/gemm_problem.h): the caller makes this the kernel's last
// gradient write, and the kernel's last read is behind it.
void backward_dw(const BoundLayer& l, ConstMatrixView x, ConstMatrixView dz, Scratch s, bool accumulate,
                 const DwShare* also = nullptr, kernels::SgdUpdate update = {});

// dx = dz * op(W)^T, then * prev_act'(x) and colsum into prev_dbias (the
// previous layer's activation derivative and bias gradient, fused).
void backward_dx(const BoundLayer& l, ConstMatrixView x, ConstMatrixView dz, MatrixView dx, Activation prev_act,
                 float* prev_dbias, Scratch s);

}  // namespace mote::layers
