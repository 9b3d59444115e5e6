// Host twins of kernels/batchnorm.cu. Channel sums accumulate in double (the reference the GPU is held to); the
// per-element formulas are the shared ones in sq/detail/batchnorm_math.hpp.
#include "cpu/batchnorm.hpp"

#include "cpu/parallel.hpp"
#include "sq/detail/batchnorm_math.hpp"

namespace sq::cpu {

void batchnorm_forward_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                             float* /*partials*/, const float* x, const float* gamma, const float* beta, std::int64_t n,
                             std::int64_t c, std::int64_t hw, int /*slices*/, float momentum, float eps) {
  const std::int64_t count = n * hw;
  parallel_for(c, n * c * hw, [&](std::int64_t ch) {  // a channel per thread: the serial order within it
    const float mean =
        static_cast<float>(channel_sum(n, c, hw, ch, [&](std::int64_t i) { return double(x[i]); }) / count);
    const float var = static_cast<float>(channel_sum(n, c, hw, ch,
                                                     [&](std::int64_t i) {
                                                       const double d = double(x[i]) - mean;
                                                       return d * d;
                                                     }) /
                                         count);
    const float invstd = detail::bn_invstd(var, eps);
    save_mean[ch] = mean;
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

void batchnorm_forward_eval(float* y, const float* x, const float* gamma, const float* beta, const float* running_mean,
                            const float* running_var, std::int64_t n, std::int64_t c, std::int64_t hw, float eps) {
  parallel_for(n * c, n * c * hw, [&](std::int64_t plane) {
    const std::int64_t ch = plane % c;
    const float invstd = detail::bn_invstd(running_var[ch], eps);
    const std::int64_t base = plane * hw;
    for (std::int64_t i = 0; i < hw; ++i) {
      y[base + i] = detail::bn_normalize(x[base + i], running_mean[ch], invstd, gamma[ch], beta[ch]);
    }
  });
}

void batchnorm_backward(float* dx, float* dgamma, float* dbeta, float* /*partials*/, const float* dy, const float* x,
                        const float* save_mean, const float* save_invstd, const float* gamma, std::int64_t n,
                        std::int64_t c, std::int64_t hw, int /*slices*/) {
  const std::int64_t count = n * hw;
  const float inv_count = 1.f / static_cast<float>(count);
  parallel_for(c, n * c * hw, [&](std::int64_t ch) {
    const float mean = save_mean[ch], invstd = save_invstd[ch];
    const float sum_dy = static_cast<float>(channel_sum(n, c, hw, ch, [&](std::int64_t i) { return double(dy[i]); }));
    const float sum_dy_xhat = static_cast<float>(
        channel_sum(n, c, hw, ch, [&](std::int64_t i) { return double(dy[i]) * ((double(x[i]) - mean) * invstd); }));
    dbeta[ch] = sum_dy;
    dgamma[ch] = sum_dy_xhat;
    for (std::int64_t b = 0; b < n; ++b) {
      const std::int64_t base = (b * c + ch) * hw;
      for (std::int64_t i = 0; i < hw; ++i) {
        dx[base + i] =
            detail::bn_input_grad(dy[base + i], x[base + i], mean, invstd, gamma[ch], sum_dy, sum_dy_xhat, inv_count);
      }
    }
  });
}

}  // namespace sq::cpu
