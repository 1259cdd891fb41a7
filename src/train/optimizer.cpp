#include <cmath>

#include "gemm/gemm.h"
#include "mote/train.h"

namespace mote {

bool optimizer_update(const OptimizerConfig& cfg, float* w, const float* g, float* state, std::size_t n,
                      int64_t step) {
  const float lr = cfg.lr;
  float probe = 0.0f;  // the scalar optimizers check finiteness in their own loop: NaN and inf survive * 0
  switch (cfg.kind) {
    case Optimizer::sgd:
      return gemm::sgd_update(w, g, lr, n);  // vectorized w -= lr * g, finiteness in the same pass
    case Optimizer::momentum: {
      const float m = cfg.momentum;
      for (std::size_t i = 0; i < n; ++i) {
        state[i] = m * state[i] - lr * g[i];
        w[i] += state[i];
        probe += w[i] * 0.0f;
      }
      break;
    }
    case Optimizer::nesterov: {
      const float m = cfg.momentum;
      for (std::size_t i = 0; i < n; ++i) {
        state[i] = m * state[i] - lr * g[i];
        w[i] += m * state[i] - lr * g[i];
        probe += w[i] * 0.0f;
      }
      break;
    }
    case Optimizer::adam: {
      float* mom = state;
      float* vel = state + n;
      const double t = static_cast<double>(step);
      const float alpha = static_cast<float>(lr * std::sqrt(1.0 - std::pow(static_cast<double>(cfg.beta2), t)) /
                                             (1.0 - std::pow(static_cast<double>(cfg.beta1), t)));
      const float b1 = cfg.beta1, b2 = cfg.beta2, eps = cfg.epsilon;
      for (std::size_t i = 0; i < n; ++i) {
        mom[i] = b1 * mom[i] + (1.0f - b1) * g[i];
        vel[i] = b2 * vel[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= alpha * mom[i] / (std::sqrt(vel[i]) + eps);
        probe += w[i] * 0.0f;
      }
      break;
    }
  }
  return probe == 0.0f;
}

}  // namespace mote
