// The SGD-with-momentum update of one element, shared by the CUDA kernel (kernels/sgd.cu) and its host twin.
#pragma once

#include "sq/detail/host_device.hpp"

namespace sq::detail {

// Caffe / PyTorch form (not Sutskever's lr-inside-the-velocity form):
//   d = g + wd * w;   v = mu * v + d;   w = w - lr * v.
// Weight decay is folded into the gradient before the momentum, so it is also carried by the velocity. The
// order of operations is fixed here and kernels build with --fmad=false, so host and device agree to the bit.
SQ_HOST_DEVICE inline void sgd_momentum_element(float& weight, float& velocity, float grad, float lr, float momentum,
                                                float weight_decay) {
  const float direction = grad + weight_decay * weight;
  velocity = momentum * velocity + direction;
  weight = weight - lr * velocity;
}

}  // namespace sq::detail
