// Softmax cross-entropy of one row (loss, hit, dL/dlogits), shared by kernels/loss.cu and its host twin.
#pragma once

#include <cmath>
#include <cstdint>

#include "sq/detail/host_device.hpp"

namespace sq::detail {

// Writes g = (softmax(z) - onehot(label)) * grad_scale and returns this row's loss -log softmax(z)[label]
// (NaN for a label outside [0, classes), so a bad label poisons the mean loss instead of passing silently).
// `hit` is set when the arg-max (first maximum) is the label. expf/logf are libm's on the host and CUDA's on the
// device: the two agree to a few ulp, which the parity tests allow; nothing selects on this value.
SQ_HOST_DEVICE inline double softmax_xent_row(const float* z, float* g, int label, int classes, float grad_scale,
                                              bool* hit) {
  int best = 0;
  for (int k = 1; k < classes; ++k) {
    if (z[k] > z[best]) best = k;
  }
  const float zmax = z[best];  // shift: exp never overflows
  float sum = 0.f;
  for (int k = 0; k < classes; ++k) sum += expf(z[k] - zmax);
  const float inv_sum = 1.f / sum;
  for (int k = 0; k < classes; ++k) {
    const float prob = expf(z[k] - zmax) * inv_sum;
    g[k] = (prob - (k == label ? 1.f : 0.f)) * grad_scale;
  }
  *hit = best == label;
  const bool valid = label >= 0 && label < classes;
  return valid ? static_cast<double>(logf(sum) - (z[label] - zmax)) : static_cast<double>(NAN);
}

}  // namespace sq::detail
