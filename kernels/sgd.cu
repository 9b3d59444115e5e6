// SGD with momentum and weight decay over the whole parameter arena in one launch: a grid-stride loop over
// [0, numel), decaying [0, decayed_end). Per-element math is sq::detail::sgd_momentum_element (shared with
// src/cpu/sgd.cpp). The update is bandwidth-bound (3 reads + 2 writes per element): when the three buffers are
// 16-byte aligned (the arena's are: whole cudaMalloc'd buffers) it moves float4s, the same per-element formula on
// each lane, so the results do not depend on the path.
#include <cstdint>

#include "launch.cuh"
#include "sgd.cuh"
#include "sq/core/cuda_check.hpp"
#include "sq/detail/sgd.hpp"

namespace sq::cuda {

// kernels

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float decay_at(std::int64_t i, std::int64_t decayed_end, float weight_decay) {
  return i < decayed_end ? weight_decay : 0.0f;
}

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
    sq::detail::sgd_momentum_element(w, v, grads[i], lr, momentum, decay_at(i, decayed_end, weight_decay));
    values[i] = w;
    velocity[i] = v;
  }
}

// float4 body over [0, numel / 4 * 4), then the scalar tail; buffers 16-byte aligned (checked by the launcher).
__global__ void sgd_momentum_kernel_vec4(float* __restrict__ values, float* __restrict__ velocity,
                                         const float* __restrict__ grads, std::int64_t numel, std::int64_t decayed_end,
                                         float lr_value, const float* __restrict__ lr_device, float momentum,
                                         float weight_decay) {
  const float lr = lr_device ? *lr_device : lr_value;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  const std::int64_t first = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t quads = numel / 4;
  float4* values4 = reinterpret_cast<float4*>(values);
  float4* velocity4 = reinterpret_cast<float4*>(velocity);
  const float4* grads4 = reinterpret_cast<const float4*>(grads);
  for (std::int64_t q = first; q < quads; q += stride) {
    float4 w = values4[q];
    float4 v = velocity4[q];
    const float4 g = grads4[q];
    const std::int64_t i = 4 * q;
    sq::detail::sgd_momentum_element(w.x, v.x, g.x, lr, momentum, decay_at(i, decayed_end, weight_decay));
    sq::detail::sgd_momentum_element(w.y, v.y, g.y, lr, momentum, decay_at(i + 1, decayed_end, weight_decay));
    sq::detail::sgd_momentum_element(w.z, v.z, g.z, lr, momentum, decay_at(i + 2, decayed_end, weight_decay));
    sq::detail::sgd_momentum_element(w.w, v.w, g.w, lr, momentum, decay_at(i + 3, decayed_end, weight_decay));
    values4[q] = w;
    velocity4[q] = v;
  }
  for (std::int64_t i = 4 * quads + first; i < numel; i += stride) {
    float w = values[i];
    float v = velocity[i];
    sq::detail::sgd_momentum_element(w, v, grads[i], lr, momentum, decay_at(i, decayed_end, weight_decay));
    values[i] = w;
    velocity[i] = v;
  }
}

int grid_for(std::int64_t work_items) {
  // Enough blocks to fill any current GPU several times over; the grid-stride loop covers the rest.
  const std::int64_t blocks = (work_items + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 4096 ? (blocks > 0 ? blocks : 1) : 4096);
}

bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

void launch(float* values, float* velocity, const float* grads, std::int64_t numel, std::int64_t decayed_end, float lr,
            const float* lr_device, float momentum, float weight_decay, cudaStream_t stream) {
  if (numel == 0) return;
  if (aligned16(values) && aligned16(velocity) && aligned16(grads)) {
    SQ_LAUNCH(sgd_momentum_kernel_vec4, grid_for((numel + 3) / 4), kThreads, 0, stream, values, velocity, grads, numel,
              decayed_end, lr, lr_device, momentum, weight_decay);
  } else {
    SQ_LAUNCH(sgd_momentum_kernel, grid_for(numel), kThreads, 0, stream, values, velocity, grads, numel, decayed_end,
              lr, lr_device, momentum, weight_decay);
  }
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace

// launchers

void sgd_momentum_update(float* values, float* velocity, const float* grads, std::int64_t numel,
                         std::int64_t decayed_end, float lr, float momentum, float weight_decay, cudaStream_t stream) {
  launch(values, velocity, grads, numel, decayed_end, lr, nullptr, momentum, weight_decay, stream);
}

void sgd_momentum_update_device_lr(float* values, float* velocity, const float* grads, std::int64_t numel,
                                   std::int64_t decayed_end, const float* lr, float momentum, float weight_decay,
                                   cudaStream_t stream) {
  launch(values, velocity, grads, numel, decayed_end, 0.0f, lr, momentum, weight_decay, stream);
}

}  // namespace sq::cuda
