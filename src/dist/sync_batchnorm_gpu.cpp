// Synchronised BatchNorm for GPU ranks (see src/dist/sync_batchnorm.hpp): the phases of kernels/batchnorm.cu with the
// DeviceCollective's all-reduce (NCCL) of the per-channel double sums between them, all on the step's stream.
#include "dist/sync_batchnorm.hpp"

#include "sq/config.hpp"

#if SQ_WITH_CUDA
#include "batchnorm.cuh"

namespace sq::dist {

void sync_batchnorm_forward_train(DeviceCollective& world, StreamHandle stream, double* sums, float* partials,
                                  int slices, float* y, float* save_mean, float* save_invstd, float* running_mean,
                                  float* running_var, const float* x, const float* gamma, const float* beta,
                                  std::int64_t n, std::int64_t c, std::int64_t hw, float momentum, float eps) {
  const std::int64_t count = n * hw * world.size();
  const auto s = reinterpret_cast<cudaStream_t>(stream);
  gpu::batchnorm_sums_x(sums, partials, x, n, c, hw, slices, s);
  world.all_reduce_sum(sums, c, stream);
  gpu::batchnorm_sums_centered(sums + c, partials, sums, x, n, c, hw, count, slices, s);
  world.all_reduce_sum(sums + c, c, stream);
  gpu::batchnorm_forward_from_sums(y, save_mean, save_invstd, running_mean, running_var, sums, x, gamma, beta, n, c, hw,
                                   count, momentum, eps, s);
}

void sync_batchnorm_backward(DeviceCollective& world, StreamHandle stream, double* sums, float* partials, int slices,
                             float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                             const float* save_mean, const float* save_invstd, const float* gamma, std::int64_t n,
                             std::int64_t c, std::int64_t hw) {
  const std::int64_t count = n * hw * world.size();
  const auto s = reinterpret_cast<cudaStream_t>(stream);
  gpu::batchnorm_backward_sums(sums, dgamma, dbeta, partials, dy, x, save_mean, save_invstd, n, c, hw, slices, s);
  world.all_reduce_sum(sums, 2 * c, stream);
  gpu::batchnorm_backward_from_sums(dx, sums, dy, x, save_mean, save_invstd, gamma, n, c, hw, count, s);
}

}  // namespace sq::dist
#endif
