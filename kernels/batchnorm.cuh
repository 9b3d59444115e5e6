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

// Synchronised BN in phases (docs/DISTRIBUTED.md), the caller all-reducing the double `sums` (device memory, summed
// over ranks) between them; n, hw are this rank's, global_count = n * hw * ranks. A world of one runs them back to
// back. Forward: sums[0, c) = sum x; sums[c, 2c) = sum (x - mean)^2 about mean = sums_x / global_count; then the
// statistics, running statistics and y from sums (both parts all-reduced).
void batchnorm_sums_x(double* sums, float* partials, const float* x, std::int64_t n, std::int64_t c, std::int64_t hw,
                      int slices, cudaStream_t stream);
void batchnorm_sums_centered(double* sums, float* partials, const double* sums_x, const float* x, std::int64_t n,
                             std::int64_t c, std::int64_t hw, std::int64_t global_count, int slices,
                             cudaStream_t stream);
void batchnorm_forward_from_sums(float* y, float* save_mean, float* save_invstd, float* running_mean,
                                 float* running_var, const double* sums, const float* x, const float* gamma,
                                 const float* beta, std::int64_t n, std::int64_t c, std::int64_t hw,
                                 std::int64_t global_count, float momentum, float eps, cudaStream_t stream);
// Backward: sums[0, 2c) = [sum dy, sum dy * xhat] of this rank (dbeta, dgamma: the same, in float: the gradient
// all-reduce averages them); then dx from the all-reduced sums.
void batchnorm_backward_sums(double* sums, float* dgamma, float* dbeta, float* partials, const float* dy,
                             const float* x, const float* save_mean, const float* save_invstd, std::int64_t n,
                             std::int64_t c, std::int64_t hw, int slices, cudaStream_t stream);
void batchnorm_backward_from_sums(float* dx, const double* sums, const float* dy, const float* x,
                                  const float* save_mean, const float* save_invstd, const float* gamma, std::int64_t n,
                                  std::int64_t c, std::int64_t hw, std::int64_t global_count, cudaStream_t stream);

}  // namespace sq::gpu
