// Launchers of kernels/pool.cu (host twins: src/cpu/pool.hpp). `planes` = N * C.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sq::gpu {

void maxpool2d_forward(float* y, std::int32_t* argmax, const float* x, std::int64_t planes, int h, int w, int kernel,
                       int stride, int out_h, int out_w, cudaStream_t stream);
void maxpool2d_backward(float* dx, const float* dy, const std::int32_t* argmax, std::int64_t planes, int h, int w,
                        int kernel, int stride, int out_h, int out_w, cudaStream_t stream);
void global_avgpool_forward(float* y, const float* x, std::int64_t planes, std::int64_t hw, cudaStream_t stream);
void global_avgpool_backward(float* dx, const float* dy, std::int64_t planes, std::int64_t hw, cudaStream_t stream);

}  // namespace sq::gpu
