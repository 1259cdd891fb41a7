// Eigen 3 peer (compiled with -march=native, single-threaded: no OpenMP):
// the GEMM rows, and a plain Eigen implementation of the tied model's
// training step and inference, written as one would without mote.
#include <Eigen/Dense>

#include "peers.h"

namespace bench {

namespace {
using RM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapRM = Eigen::Map<RM, Eigen::Unaligned>;
using Row = Eigen::Matrix<float, 1, Eigen::Dynamic>;
}  // namespace

bool gemm_eigen(const Gemm& g, GemmBuffers& buf, benchmark::State& st) {
  MapRM C(buf.c.data(), g.m, g.n);
  switch (g.layout) {
    case Layout::NN: {
      MapRM A(buf.a.data(), g.m, g.k), B(buf.b.data(), g.k, g.n);
      for (auto _ : st) {
        C.noalias() = A * B;
        keep(C.data());
      }
      break;
    }
    case Layout::NT: {
      MapRM A(buf.a.data(), g.m, g.k), B(buf.b.data(), g.n, g.k);
      for (auto _ : st) {
        C.noalias() = A * B.transpose();
        keep(C.data());
      }
      break;
    }
    case Layout::TN: {
      MapRM A(buf.a.data(), g.k, g.m), B(buf.b.data(), g.k, g.n);
      for (auto _ : st) {
        C.noalias() += A.transpose() * B;
        keep(C.data());
      }
      break;
    }
  }
  return true;
}

namespace {

constexpr float kLambda = 1.0507009873554805f;
constexpr float kAlpha = 1.6732632423543772f;

RM selu(const RM& z) {
  return (z.array() > 0.0f).select(kLambda * z.array(), (kLambda * kAlpha) * (z.array().exp() - 1.0f));
}
RM selu_grad_from_y(const RM& y) {
  return (y.array() > 0.0f).select(RM::Constant(y.rows(), y.cols(), kLambda).array(), y.array() + kLambda * kAlpha);
}

struct EigenTied {
  RM W1, W2;
  Row b1, b2, b3, b4;
  RM H1, H2, H3, Y;
  explicit EigenTied(int batch)
      : W1(RM::Random(784, 100) * 0.08f), W2(RM::Random(100, 30) * 0.2f), b1(Row::Zero(100)), b2(Row::Zero(30)),
        b3(Row::Zero(100)), b4(Row::Zero(784)), H1(batch, 100), H2(batch, 30), H3(batch, 100), Y(batch, 784) {}

  void forward(const MapRM& X) {
    H1 = selu((X * W1).rowwise() + b1);
    H2 = selu((H1 * W2).rowwise() + b2);
    H3 = selu((H2 * W2.transpose()).rowwise() + b3);
    Y = (-((H3 * W1.transpose()).rowwise() + b4).array()).exp().matrix();
    Y = (1.0f + Y.array()).inverse().matrix();
  }

  float train_step(const MapRM& X, float lr) {
    forward(X);
    const float n = static_cast<float>(Y.size());
    const auto pc = Y.array().max(1e-7f).min(1.0f - 1e-7f);
    const float loss = -(X.array() * pc.log() + (1.0f - X.array()) * (1.0f - pc).log()).sum() / n;
    const RM dZ4 = ((Y.array() > 1e-7f && Y.array() < 1.0f - 1e-7f).select((Y - X).array() / n, 0.0f)).matrix();
    RM dW1 = dZ4.transpose() * H3;  // decoder use of W1 (784 x 100)
    const Row db4 = dZ4.colwise().sum();
    const RM dZ3 = ((dZ4 * W1).array() * selu_grad_from_y(H3).array()).matrix();
    const Row db3 = dZ3.colwise().sum();
    RM dW2 = dZ3.transpose() * H2;  // decoder use of W2 (100 x 30)
    const RM dZ2 = ((dZ3 * W2).array() * selu_grad_from_y(H2).array()).matrix();
    const Row db2 = dZ2.colwise().sum();
    dW2.noalias() += H1.transpose() * dZ2;
    const RM dZ1 = ((dZ2 * W2.transpose()).array() * selu_grad_from_y(H1).array()).matrix();
    const Row db1 = dZ1.colwise().sum();
    dW1.noalias() += X.transpose() * dZ1;
    W1 -= lr * dW1;
    W2 -= lr * dW2;
    b1 -= lr * db1;
    b2 -= lr * db2;
    b3 -= lr * db3;
    b4 -= lr * db4;
    return loss;
  }
};

}  // namespace

void train_step_eigen(benchmark::State& st) {
  constexpr int kBatch = 32;
  Buffer x(static_cast<std::size_t>(kBatch) * 784, 0.0f, 1.0f, 7);
  const MapRM X(x.data(), kBatch, 784);
  EigenTied m(kBatch);
  float loss = 0;
  for (auto _ : st) {
    loss = m.train_step(X, 0.01f);
    keep(m.W1.data());
  }
  st.counters["loss"] = loss;
  set_flops(st, tied_train_flops(kBatch));
}

void infer_eigen(benchmark::State& st, int batch) {
  Buffer x(static_cast<std::size_t>(batch) * 784, 0.0f, 1.0f, 7);
  const MapRM X(x.data(), batch, 784);
  EigenTied m(batch);
  for (auto _ : st) {
    m.forward(X);
    keep(m.Y.data());
  }
  set_flops(st, tied_infer_flops(batch));
}

}  // namespace bench
