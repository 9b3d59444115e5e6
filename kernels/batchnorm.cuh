// Launchers of kernels/batchnorm.cu (host twins: src/cpu/batchnorm.hpp). Tensors are [n, c, hw]; `partials` is a
// workspace of batchnorm_partials_size(c, slices) floats; `slices` splits each channel's reduction over the batch.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sq::gpu {

inline std::int64_t batchnorm_partials_size(std::int64_t c, int slices) {
  return 2 * c * slices;
}

void batchnorm_forward_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                             float* partials, const float* x, const float* gamma, const float* beta, std::int64_t n,
                             std::int64_t c, std::int64_t hw, int slices, float momentum, float eps,
                             cudaStream_t stream);
void batchnorm_forward_eval(float* y, const float* x, const float* gamma, const float* beta, const float* running_mean,
                            const float* running_var, std::int64_t n, std::int64_t c, std::int64_t hw, float eps,
                            cudaStream_t stream);
void batchnorm_backward(float* dx, float* dgamma, float* dbeta, float* partials, const float* dy, const float* x,
                        const float* save_mean, const float* save_invstd, const float* gamma, std::int64_t n,
                        std::int64_t c, std::int64_t hw, int slices, cudaStream_t stream);

}  // namespace sq::gpu
