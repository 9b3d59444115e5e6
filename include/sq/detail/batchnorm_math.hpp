// Per-element batch-normalisation formulas shared by kernels/batchnorm.cu and its host twin.
#pragma once

#include <cmath>
#include <cstdint>

#include "sq/detail/host_device.hpp"

namespace sq::detail {

// A channel's mean (or biased variance) from its sum over `count` elements, taken in double.
SQ_HOST_DEVICE inline float bn_mean(double sum, std::int64_t count) {
  return static_cast<float>(sum / static_cast<double>(count));
}

SQ_HOST_DEVICE inline float bn_invstd(float var, float eps) {
  return 1.f / sqrtf(var + eps);
}

// The batch variance from shifted sums can come out a rounding below zero: clamp it, but let a NaN (a NaN or Inf
// input) through, as the twin's two-pass variance does.
SQ_HOST_DEVICE inline double bn_clamp_variance(double var) {
  return var < 0.0 ? 0.0 : var;
}

SQ_HOST_DEVICE inline float bn_normalize(float x, float mean, float invstd, float gamma, float beta) {
  return (x - mean) * invstd * gamma + beta;
}

// Running statistics as PyTorch keeps them: the variance is the unbiased batch variance (count / (count - 1)).
SQ_HOST_DEVICE inline float bn_unbiased_variance(float var, std::int64_t count) {
  return count > 1 ? var * (static_cast<float>(count) / static_cast<float>(count - 1)) : var;
}

SQ_HOST_DEVICE inline float bn_running_update(float running, float batch_value, float momentum) {
  return (1.f - momentum) * running + momentum * batch_value;
}

// dL/dx given per-channel sums: sum_dy = dL/dbeta, sum_dy_xhat = dL/dgamma, count = N * H * W.
SQ_HOST_DEVICE inline float bn_input_grad(float dy, float x, float mean, float invstd, float gamma, float sum_dy,
                                          float sum_dy_xhat, float inv_count) {
  const float xhat = (x - mean) * invstd;
  return gamma * invstd * (dy - sum_dy * inv_count - xhat * (sum_dy_xhat * inv_count));
}

}  // namespace sq::detail
