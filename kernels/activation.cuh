// Launchers of kernels/activation.cu (host twins: src/cpu/activation.hpp).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sq::gpu {

void relu_forward(float* y, const float* x, std::int64_t n, cudaStream_t stream);
void relu_backward(float* dx, const float* dy, const float* y, std::int64_t n, cudaStream_t stream);
void add(float* out, const float* a, const float* b, std::int64_t n, cudaStream_t stream);

}  // namespace sq::gpu
