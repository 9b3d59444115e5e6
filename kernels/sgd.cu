// SGD with momentum and weight decay over the whole parameter arena in one launch: a grid-stride loop over
// [0, numel), decaying [0, decayed_end). Per-element math is sq::detail::sgd_momentum_element (shared with
// src/cpu/sgd.cpp). float4 loads are not used: the arena offset of a parameter need not be 16-byte aligned and
// the update is bandwidth-bound either way (3 reads + 2 writes per element).
#include "sgd.cuh"
#include "sq/core/cuda_check.hpp"
#include "sq/detail/sgd.hpp"

namespace sq::cuda {

// kernels

namespace {

constexpr int kThreads = 256;

// lr comes either by value or from device memory (graph replay); the pointer, when set, wins.
__global__ void sgd_momentum_kernel(float* __restrict__ values, float* __restrict__ velocity,
                                    const float* __restrict__ grads, std::int64_t numel, std::int64_t decayed_end,
                                    float lr_value, const float* __restrict__ lr_device, float momentum,
                                    float weight_decay) {
  const float lr = lr_device ? *lr_device : lr_value;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < numel; i += stride) {
    float w = values[i];
    float v = velocity[i];
    sq::detail::sgd_momentum_element(w, v, grads[i], lr, momentum, i < decayed_end ? weight_decay : 0.0f);
    values[i] = w;
    velocity[i] = v;
  }
}

int grid_for(std::int64_t numel) {
  // Enough blocks to fill any current GPU several times over; the grid-stride loop covers the rest.
  const std::int64_t blocks = (numel + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 4096 ? (blocks > 0 ? blocks : 1) : 4096);
}

}  // namespace

// launchers

void sgd_momentum_update(float* values, float* velocity, const float* grads, std::int64_t numel,
                         std::int64_t decayed_end, float lr, float momentum, float weight_decay, cudaStream_t stream) {
  if (numel == 0) return;
  sgd_momentum_kernel<<<grid_for(numel), kThreads, 0, stream>>>(values, velocity, grads, numel, decayed_end, lr,
                                                                nullptr, momentum, weight_decay);
  SQ_CUDA_CHECK_LAUNCH();
}

void sgd_momentum_update_device_lr(float* values, float* velocity, const float* grads, std::int64_t numel,
                                   std::int64_t decayed_end, const float* lr, float momentum, float weight_decay,
                                   cudaStream_t stream) {
  if (numel == 0) return;
  sgd_momentum_kernel<<<grid_for(numel), kThreads, 0, stream>>>(values, velocity, grads, numel, decayed_end, 0.0f, lr,
                                                                momentum, weight_decay);
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace sq::cuda
