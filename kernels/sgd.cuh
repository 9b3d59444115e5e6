// Launchers of the SGD-with-momentum update over a whole ParameterArena (one launch for all parameters).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sq::cuda {

// values, velocity: [numel] updated in place; grads: [numel]. Elements [0, decayed_end) get weight decay,
// [decayed_end, numel) do not. lr by value (eager steps).
void sgd_momentum_update(float* values, float* velocity, const float* grads, std::int64_t numel,
                         std::int64_t decayed_end, float lr, float momentum, float weight_decay, cudaStream_t stream);

// Same update reading the learning rate from device memory, so a captured CUDA graph picks up each step's lr.
void sgd_momentum_update_device_lr(float* values, float* velocity, const float* grads, std::int64_t numel,
                                   std::int64_t decayed_end, const float* lr, float momentum, float weight_decay,
                                   cudaStream_t stream);

}  // namespace sq::cuda
