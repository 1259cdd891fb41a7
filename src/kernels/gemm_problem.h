// The one GEMM contract every implementation (reference, xsimd per ISA) obeys.
//
//   C[m x n] = (accumulate ? C : 0) + op(A)[m x k] * op(B)[k x n]
//   then, per element, in this order (the "epilogue", fused in the store step):
//     + bias[j]                       if bias
//     act(.)                          forward activation
//     * act'(Y[i][j]) (from output)   if dact_y: backward through the previous layer
//     colsum[j] += result             if colsum: bias gradient of that layer
//   and then, if update.w (plain SGD fused into a weight-gradient product),
//   for every element once its value G is final:
//     W[i][j] -= update.lr * G         (W laid out as C: row i at w + i * ldc)
//     C[i][j] = W's value before       (the undo record: C no longer holds G)
//     *update.flags |= kUpdateGradNonFinite if G is NaN/inf,
//                      kUpdateWeightNonFinite if the new W is.
//   The update is the GEMM driver's (gemm.cpp), not the microkernels': it runs
//   on blocks of C right after their last store, while they are in L1, with
//   the set's sgd_swap (bit for bit its sgd: W - lr * G).
//
// op(A) = A or A^T as a row-major array with leading dimension lda, likewise B.
// The three layouts training needs: NN (x*W), NT (x*W^T: tied decoder and
// input gradients), TN (dW += X^T * dY).
#pragma once
#include <cstddef>

#include "mote/spec.h"

namespace mote::kernels {

enum class Op : unsigned char { N, T };

struct Epilogue {
  const float* bias = nullptr;
  Activation act = Activation::linear;
  const float* dact_y = nullptr;
  int ld_dact = 0;
  Activation dact = Activation::linear;
  float* colsum = nullptr;
};

inline constexpr unsigned kUpdateGradNonFinite = 1u;
inline constexpr unsigned kUpdateWeightNonFinite = 2u;

struct SgdUpdate {
  float* w = nullptr;
  float lr = 0.0f;
  unsigned* flags = nullptr;
};

struct GemmProblem {
  int m = 0, n = 0, k = 0;
  Op op_a = Op::N;
  const float* a = nullptr;
  int lda = 0;
  Op op_b = Op::N;
  const float* b = nullptr;
  int ldb = 0;
  float* c = nullptr;
  int ldc = 0;
  bool accumulate = false;
  Epilogue ep{};
  SgdUpdate update{};
};

// The deliberately plain oracle: loops, no blocking, no intrinsics.
void gemm_ref(const GemmProblem& p);

}  // namespace mote::kernels
