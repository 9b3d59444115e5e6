// Host twins of kernels/batchnorm.cu. Channel sums accumulate in double (the reference the GPU is held to); the
// per-element formulas are the shared ones in sq/detail/batchnorm_math.hpp.
#include "cpu/batchnorm.hpp"

#include "cpu/parallel.hpp"
#include "sq/detail/batchnorm_math.hpp"

namespace sq::cpu {

namespace {
// The pieces the fused twins and the synchronised phases share (the order of every sum is the same in both).
double sum_x(const float* x, std::int64_t n, std::int64_t c, std::int64_t hw, std::int64_t ch) {
  return channel_sum(n, c, hw, ch, [&](std::int64_t i) { return double(x[i]); });
}

double sum_centered_squares(const float* x, float mean, std::int64_t n, std::int64_t c, std::int64_t hw,
                            std::int64_t ch) {
  return channel_sum(n, c, hw, ch, [&](std::int64_t i) {
    const double d = double(x[i]) - mean;
    return d * d;
  });
}

// Channel ch's saved and running statistics from its batch mean and (biased) variance over `count`, then its y.
void channel_stats_and_output(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                              const float* x, const float* gamma, const float* beta, float mean, float var,
                              std::int64_t n, std::int64_t c, std::int64_t hw, std::int64_t ch, std::int64_t count,
                              float momentum, float eps) {
  const float invstd = detail::bn_invstd(var, eps);
  save_mean[ch] = mean;
  save_invstd[ch] = invstd;
  running_mean[ch] = detail::bn_running_update(running_mean[ch], mean, momentum);
  running_var[ch] = detail::bn_running_update(running_var[ch], detail::bn_unbiased_variance(var, count), momentum);
  for (std::int64_t b = 0; b < n; ++b) {
    const std::int64_t base = (b * c + ch) * hw;
    for (std::int64_t i = 0; i < hw; ++i) {
      y[base + i] = detail::bn_normalize(x[base + i], mean, invstd, gamma[ch], beta[ch]);
    }
  }
}

// dbeta and dgamma of channel ch (sum dy, sum dy * xhat) in double.
void backward_channel_sums(double& sum_dy, double& sum_dy_xhat, const float* dy, const float* x, float mean,
                           float invstd, std::int64_t n, std::int64_t c, std::int64_t hw, std::int64_t ch) {
  sum_dy = channel_sum(n, c, hw, ch, [&](std::int64_t i) { return double(dy[i]); });
  sum_dy_xhat =
      channel_sum(n, c, hw, ch, [&](std::int64_t i) { return double(dy[i]) * ((double(x[i]) - mean) * invstd); });
}

void channel_input_grad(float* dx, const float* dy, const float* x, float mean, float invstd, float gamma, float sum_dy,
                        float sum_dy_xhat, float inv_count, std::int64_t n, std::int64_t c, std::int64_t hw,
                        std::int64_t ch) {
  for (std::int64_t b = 0; b < n; ++b) {
    const std::int64_t base = (b * c + ch) * hw;
    for (std::int64_t i = 0; i < hw; ++i) {
      dx[base + i] =
          detail::bn_input_grad(dy[base + i], x[base + i], mean, invstd, gamma, sum_dy, sum_dy_xhat, inv_count);
    }
  }
}
}  // namespace

void batchnorm_forward_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                             float* /*partials*/, const float* x, const float* gamma, const float* beta, std::int64_t n,
                             std::int64_t c, std::int64_t hw, int /*slices*/, float momentum, float eps) {
  const std::int64_t count = n * hw;
  parallel_for(c, n * c * hw, [&](std::int64_t ch) {  // a channel per thread: the serial order within it
    const float mean = detail::bn_mean(sum_x(x, n, c, hw, ch), count);
    const float var = detail::bn_mean(sum_centered_squares(x, mean, n, c, hw, ch), count);
    channel_stats_and_output(y, save_mean, save_invstd, running_mean, running_var, x, gamma, beta, mean, var, n, c, hw,
                             ch, count, momentum, eps);
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
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    backward_channel_sums(sum_dy, sum_dy_xhat, dy, x, mean, invstd, n, c, hw, ch);
    dbeta[ch] = static_cast<float>(sum_dy);
    dgamma[ch] = static_cast<float>(sum_dy_xhat);
    channel_input_grad(dx, dy, x, mean, invstd, gamma[ch], dbeta[ch], dgamma[ch], inv_count, n, c, hw, ch);
  });
}

void batchnorm_sums_x(double* sums, float* /*partials*/, const float* x, std::int64_t n, std::int64_t c,
                      std::int64_t hw, int /*slices*/) {
  parallel_for(c, n * c * hw, [&](std::int64_t ch) { sums[ch] = sum_x(x, n, c, hw, ch); });
}

void batchnorm_sums_centered(double* sums, float* /*partials*/, const double* sums_x, const float* x, std::int64_t n,
                             std::int64_t c, std::int64_t hw, std::int64_t global_count, int /*slices*/) {
  parallel_for(c, n * c * hw, [&](std::int64_t ch) {
    sums[ch] = sum_centered_squares(x, detail::bn_mean(sums_x[ch], global_count), n, c, hw, ch);
  });
}

void batchnorm_forward_from_sums(float* y, float* save_mean, float* save_invstd, float* running_mean,
                                 float* running_var, const double* sums, const float* x, const float* gamma,
                                 const float* beta, std::int64_t n, std::int64_t c, std::int64_t hw,
                                 std::int64_t global_count, float momentum, float eps) {
  parallel_for(c, n * c * hw, [&](std::int64_t ch) {
    channel_stats_and_output(y, save_mean, save_invstd, running_mean, running_var, x, gamma, beta,
                             detail::bn_mean(sums[ch], global_count), detail::bn_mean(sums[c + ch], global_count), n, c,
                             hw, ch, global_count, momentum, eps);
  });
}

void batchnorm_backward_sums(double* sums, float* dgamma, float* dbeta, float* /*partials*/, const float* dy,
                             const float* x, const float* save_mean, const float* save_invstd, std::int64_t n,
                             std::int64_t c, std::int64_t hw, int /*slices*/) {
  parallel_for(c, n * c * hw, [&](std::int64_t ch) {
    backward_channel_sums(sums[ch], sums[c + ch], dy, x, save_mean[ch], save_invstd[ch], n, c, hw, ch);
    dbeta[ch] = static_cast<float>(sums[ch]);
    dgamma[ch] = static_cast<float>(sums[c + ch]);
  });
}

void batchnorm_backward_from_sums(float* dx, const double* sums, const float* dy, const float* x,
                                  const float* save_mean, const float* save_invstd, const float* gamma, std::int64_t n,
                                  std::int64_t c, std::int64_t hw, std::int64_t global_count) {
  const float inv_count = 1.f / static_cast<float>(global_count);
  parallel_for(c, n * c * hw, [&](std::int64_t ch) {
    channel_input_grad(dx, dy, x, save_mean[ch], save_invstd[ch], gamma[ch], static_cast<float>(sums[ch]),
                       static_cast<float>(sums[c + ch]), inv_count, n, c, hw, ch);
  });
}

}  // namespace sq::cpu
