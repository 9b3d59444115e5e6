// Synchronised BatchNorm for CPU ranks (see the header): the host twins of the GPU's synchronised phases
// (src/cpu/batchnorm.hpp) with an MPI all-reduce of the per-channel double sums between them.
#include "dist/sync_batchnorm.hpp"

#include <vector>

#include "cpu/batchnorm.hpp"

namespace sq::dist {

namespace {
// Per-thread scratch for the sums: grows at the first step, then never allocates.
double* scratch(std::int64_t n) {
  thread_local std::vector<double> buffer;
  if (static_cast<std::int64_t>(buffer.size()) < n) buffer.resize(static_cast<std::size_t>(n));
  return buffer.data();
}
}  // namespace

void sync_batchnorm_forward_train(Collective& world, float* y, float* save_mean, float* save_invstd,
                                  float* running_mean, float* running_var, const float* x, const float* gamma,
                                  const float* beta, std::int64_t n, std::int64_t c, std::int64_t hw, float momentum,
                                  float eps) {
  const std::int64_t count = n * hw * world.size();  // every rank holds n samples (equal shards)
  double* sums = scratch(2 * c);                     // [sum x (c), sum (x - mean)^2 (c)]
  cpu::batchnorm_sums_x(sums, nullptr, x, n, c, hw, 1);
  world.all_reduce_sum(sums, c);
  cpu::batchnorm_sums_centered(sums + c, nullptr, sums, x, n, c, hw, count, 1);
  world.all_reduce_sum(sums + c, c);
  cpu::batchnorm_forward_from_sums(y, save_mean, save_invstd, running_mean, running_var, sums, x, gamma, beta, n, c, hw,
                                   count, momentum, eps);
}

void sync_batchnorm_backward(Collective& world, float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                             const float* save_mean, const float* save_invstd, const float* gamma, std::int64_t n,
                             std::int64_t c, std::int64_t hw) {
  const std::int64_t count = n * hw * world.size();
  double* sums = scratch(2 * c);  // [sum dy (c), sum dy * xhat (c)]
  cpu::batchnorm_backward_sums(sums, dgamma, dbeta, nullptr, dy, x, save_mean, save_invstd, n, c, hw, 1);
  world.all_reduce_sum(sums, 2 * c);
  cpu::batchnorm_backward_from_sums(dx, sums, dy, x, save_mean, save_invstd, gamma, n, c, hw, count);
}

}  // namespace sq::dist
