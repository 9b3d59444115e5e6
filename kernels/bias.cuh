// Launchers of kernels/bias.cu (host twins: src/cpu/bias.hpp).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sq::gpu {

void bias_add(float* y, const float* bias, std::int64_t outer, std::int64_t channels, std::int64_t inner,
              cudaStream_t stream);
void bias_grad(float* dbias, const float* dy, std::int64_t outer, std::int64_t channels, std::int64_t inner,
               cudaStream_t stream);

}  // namespace sq::gpu
