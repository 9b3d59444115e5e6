// Launchers of kernels/dropout.cu (host twins: src/cpu/dropout.hpp).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sq::gpu {

// step_ptr: device memory holding the step (a captured graph's step), or nullptr to use `step`.
void dropout_forward(float* y, std::uint8_t* mask, const float* x, std::int64_t n, float p, float scale,
                     std::uint64_t seed, std::uint64_t layer_id, std::uint64_t step, const std::uint64_t* step_ptr,
                     cudaStream_t stream);
void dropout_backward(float* dx, const float* dy, const std::uint8_t* mask, std::int64_t n, float scale,
                      cudaStream_t stream);

}  // namespace sq::gpu
