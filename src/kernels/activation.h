// Scalar activation functions and their derivatives, expressed on the OUTPUT y
// so that the backward pass needs nothing but the stored activations:
//   SELU     y > 0: dy/dx = lambda;  y <= 0: dy/dx = lambda*alpha*e^x = y + lambda*alpha
//   sigmoid  dy/dx = y * (1 - y)
// Constants are Keras' (tf.keras.activations.selu).
#pragma once
#include <cmath>

#include "mote/spec.h"

namespace mote::kernels {

inline constexpr float kSeluLambda = 1.0507009873554805f;
inline constexpr float kSeluAlpha = 1.6732632423543772f;
inline constexpr float kSeluLambdaAlpha = kSeluLambda * kSeluAlpha;

inline float selu(float x) { return x > 0.0f ? kSeluLambda * x : kSeluLambdaAlpha * std::expm1(x); }
inline float sigmoid(float x) {
  // Split by sign so that exp never overflows and tiny outputs keep precision.
  if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}
inline float activate(Activation a, float x) {
  switch (a) {
    case Activation::selu: return selu(x);
    case Activation::sigmoid: return sigmoid(x);
    case Activation::linear: break;
  }
  return x;
}
inline float derivative_from_output(Activation a, float y) {
  switch (a) {
    case Activation::selu: return y > 0.0f ? kSeluLambda : y + kSeluLambdaAlpha;
    case Activation::sigmoid: return y * (1.0f - y);
    case Activation::linear: break;
  }
  return 1.0f;
}

}  // namespace mote::kernels
