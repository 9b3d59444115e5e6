// Synchronised BatchNorm for CPU ranks (see the header). Channel sums accumulate in double, as the twin's.
#include "dist/sync_batchnorm.hpp"

#include <vector>

#include "cpu/batchnorm.hpp"
#include "cpu/parallel.hpp"
#include "sq/detail/batchnorm_math.hpp"

namespace sq::dist {

using cpu::channel_sum;

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
  double* sums = scratch(c);
  cpu::parallel_for(c, n * c * hw, [&](std::int64_t ch) {
    sums[ch] = channel_sum(n, c, hw, ch, [&](std::int64_t i) { return double(x[i]); });
  });
  world.all_reduce_sum(sums, c);
  for (std::int64_t ch = 0; ch < c; ++ch) save_mean[ch] = static_cast<float>(sums[ch] / static_cast<double>(count));
  cpu::parallel_for(c, n * c * hw, [&](std::int64_t ch) {
    const float mean = save_mean[ch];
    sums[ch] = channel_sum(n, c, hw, ch, [&](std::int64_t i) {
      const double d = double(x[i]) - mean;
      return d * d;
    });
  });
  world.all_reduce_sum(sums, c);
  cpu::parallel_for(c, n * c * hw, [&](std::int64_t ch) {
    const float mean = save_mean[ch];
    const float var = static_cast<float>(sums[ch] / static_cast<double>(count));
    const float invstd = detail::bn_invstd(var, eps);
    save_invstd[ch] = invstd;
    const float unbiased = count > 1 ? var * (static_cast<float>(count) / static_cast<float>(count - 1)) : var;
    running_mean[ch] = detail::bn_running_update(running_mean[ch], mean, momentum);
    running_var[ch] = detail::bn_running_update(running_var[ch], unbiased, momentum);
    for (std::int64_t b = 0; b < n; ++b) {
      const std::int64_t base = (b * c + ch) * hw;
      for (std::int64_t i = 0; i < hw; ++i) {
        y[base + i] = detail::bn_normalize(x[base + i], mean, invstd, gamma[ch], beta[ch]);
      }
    }
  });
}

void sync_batchnorm_backward(Collective& world, float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                             const float* save_mean, const float* save_invstd, const float* gamma, std::int64_t n,
                             std::int64_t c, std::int64_t hw) {
  const std::int64_t count = n * hw * world.size();
  const float inv_count = 1.f / static_cast<float>(count);
  double* sums = scratch(2 * c);  // [sum dy (c), sum dy * xhat (c)]
  cpu::parallel_for(c, n * c * hw, [&](std::int64_t ch) {
    const float mean = save_mean[ch], invstd = save_invstd[ch];
    sums[ch] = channel_sum(n, c, hw, ch, [&](std::int64_t i) { return double(dy[i]); });
    sums[c + ch] =
        channel_sum(n, c, hw, ch, [&](std::int64_t i) { return double(dy[i]) * ((double(x[i]) - mean) * invstd); });
    dbeta[ch] = static_cast<float>(sums[ch]);
    dgamma[ch] = static_cast<float>(sums[c + ch]);
  });
  world.all_reduce_sum(sums, 2 * c);
  cpu::parallel_for(c, n * c * hw, [&](std::int64_t ch) {
    const float mean = save_mean[ch], invstd = save_invstd[ch];
    const float sum_dy = static_cast<float>(sums[ch]);
    const float sum_dy_xhat = static_cast<float>(sums[c + ch]);
    for (std::int64_t b = 0; b < n; ++b) {
      const std::int64_t base = (b * c + ch) * hw;
      for (std::int64_t i = 0; i < hw; ++i) {
        dx[base + i] =
            detail::bn_input_grad(dy[base + i], x[base + i], mean, invstd, gamma[ch], sum_dy, sum_dy_xhat, inv_count);
      }
    }
  });
}

}  // namespace sq::dist
