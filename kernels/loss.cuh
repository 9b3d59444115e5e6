// Launchers of kernels/loss.cu (host twin: src/cpu/loss.hpp).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sq::gpu {

void softmax_xent_forward(float* loss, std::int32_t* correct, float* dlogits, const float* logits,
                          const std::int32_t* labels, int rows, int classes, cudaStream_t stream);

}  // namespace sq::gpu
