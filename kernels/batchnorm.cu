// Batch normalisation, training and evaluation, forward and backward. Channel statistics are split reductions:
// a grid of (slice, channel) blocks writes partial sums, one thread per channel adds them in a fixed order (in
// double), and a plane-wise kernel applies the shared formulas of sq/detail/batchnorm_math.hpp. The forward reads x
// twice (3 launches): sums shifted by a sample of the channel avoid the cancellation of E[x^2] - E[x]^2.
// Deterministic for a given shape.
#include "batchnorm.cuh"
#include "launch.cuh"
#include "sq/core/cuda_check.hpp"
#include "sq/detail/batchnorm_math.hpp"

namespace sq::gpu {

// kernels

namespace {
constexpr int kPartialThreads = 256;

// Forward: sums of (x - K) and (x - K)^2 with K = the channel's first element (a sample of the channel, so the
// shifted sums do not cancel when the mean is large against the spread). Backward: sums of dy and dy * xhat.
enum class PartialMode { shifted_sums, sum_dy_and_dy_xhat };

// Block (s, y) sums over images [s * n / slices, (s + 1) * n / slices) of channels c = y, y + gridDim.y, ...
template <PartialMode kMode>
__global__ void bn_partials_kernel(float* partial_a, float* partial_b, const float* x, const float* dy,
                                   const float* mean, const float* invstd, std::int64_t n, std::int64_t c,
                                   std::int64_t hw, int slices) {
  __shared__ float sa[kPartialThreads];
  __shared__ float sb[kPartialThreads];
  const int s = blockIdx.x;
  const std::int64_t n0 = n * s / slices, n1 = n * (s + 1) / slices;
  const unsigned count = static_cast<unsigned>((n1 - n0) * hw), hw32 = static_cast<unsigned>(hw);
  // gridDim.y is capped (max_grid_yz): a block loops over channels blockIdx.y, + gridDim.y, ...
  for (std::int64_t ch = blockIdx.y; ch < c; ch += gridDim.y) {
    float a = 0.f, b = 0.f;
    float m = 0.f, is = 0.f;
    if (kMode == PartialMode::shifted_sums) {
      m = x[ch * hw];
    } else {
      m = mean[ch];
      is = invstd[ch];
    }
    // 32-bit index arithmetic: setup() keeps tensors under 2^31 elements.
    for (unsigned j = threadIdx.x; j < count; j += blockDim.x) {
      const unsigned img = j / hw32;
      const std::int64_t idx = ((n0 + img) * c + ch) * hw + (j - img * hw32);
      if (kMode == PartialMode::shifted_sums) {
        const float d = x[idx] - m;
        a += d;
        b += d * d;
      } else {
        const float g = dy[idx];
        a += g;
        b += g * ((x[idx] - m) * is);
      }
    }
    sa[threadIdx.x] = a;
    sb[threadIdx.x] = b;
    block_reduce_sum(sa);
    block_reduce_sum(sb);
    if (threadIdx.x == 0) {
      partial_a[ch * slices + s] = sa[0];
      partial_b[ch * slices + s] = sb[0];
    }
  }
}

__device__ inline double sum_slices(const float* partial, std::int64_t ch, int slices) {
  double s = 0.0;
  for (int i = 0; i < slices; ++i) s += partial[ch * slices + i];
  return s;
}

__global__ void bn_finalize_stats_kernel(float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                                         const float* x, const float* partial_a, const float* partial_b, std::int64_t c,
                                         std::int64_t hw, std::int64_t count, int slices, float momentum, float eps) {
  const std::int64_t ch = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (ch >= c) return;
  const double shift_mean = sum_slices(partial_a, ch, slices) / count;
  const double var_d = sum_slices(partial_b, ch, slices) / count - shift_mean * shift_mean;
  const float mean = static_cast<float>(double(x[ch * hw]) + shift_mean);
  const float var = static_cast<float>(sq::detail::bn_clamp_variance(var_d));
  save_mean[ch] = mean;
  save_invstd[ch] = sq::detail::bn_invstd(var, eps);
  const float unbiased = count > 1 ? var * (static_cast<float>(count) / static_cast<float>(count - 1)) : var;
  running_mean[ch] = sq::detail::bn_running_update(running_mean[ch], mean, momentum);
  running_var[ch] = sq::detail::bn_running_update(running_var[ch], unbiased, momentum);
}

__global__ void bn_finalize_backward_kernel(float* dgamma, float* dbeta, const float* partial_a, const float* partial_b,
                                            std::int64_t c, int slices) {
  const std::int64_t ch = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (ch >= c) return;
  dbeta[ch] = static_cast<float>(sum_slices(partial_a, ch, slices));
  dgamma[ch] = static_cast<float>(sum_slices(partial_b, ch, slices));
}

__global__ void bn_normalize_kernel(float* y, const float* x, const float* mean, const float* invstd,
                                    const float* gamma, const float* beta, std::int64_t planes, std::int64_t c,
                                    std::int64_t hw) {
  SQ_FOR_EACH_PLANE(p, planes) {
    const std::int64_t ch = p % c;
    const float m = mean[ch], is = invstd[ch], g = gamma[ch], b = beta[ch];
    SQ_FOR_EACH_IN_PLANE(i, hw) y[p * hw + i] = sq::detail::bn_normalize(x[p * hw + i], m, is, g, b);
  }
}

__global__ void bn_eval_kernel(float* y, const float* x, const float* gamma, const float* beta,
                               const float* running_mean, const float* running_var, std::int64_t planes, std::int64_t c,
                               std::int64_t hw, float eps) {
  SQ_FOR_EACH_PLANE(p, planes) {
    const std::int64_t ch = p % c;
    const float m = running_mean[ch], is = sq::detail::bn_invstd(running_var[ch], eps), g = gamma[ch], b = beta[ch];
    SQ_FOR_EACH_IN_PLANE(i, hw) y[p * hw + i] = sq::detail::bn_normalize(x[p * hw + i], m, is, g, b);
  }
}

__global__ void bn_input_grad_kernel(float* dx, const float* dy, const float* x, const float* mean, const float* invstd,
                                     const float* gamma, const float* dgamma, const float* dbeta, std::int64_t planes,
                                     std::int64_t c, std::int64_t hw, float inv_count) {
  SQ_FOR_EACH_PLANE(p, planes) {
    const std::int64_t ch = p % c;
    const float m = mean[ch], is = invstd[ch], g = gamma[ch], sb = dbeta[ch], sg = dgamma[ch];
    SQ_FOR_EACH_IN_PLANE(i, hw) {
      dx[p * hw + i] = sq::detail::bn_input_grad(dy[p * hw + i], x[p * hw + i], m, is, g, sb, sg, inv_count);
    }
  }
}

dim3 partials_grid(std::int64_t c, int slices) {
  const std::int64_t cap = max_grid_yz();
  return dim3(static_cast<unsigned>(slices), static_cast<unsigned>(c < cap ? c : cap));
}

unsigned channel_blocks(std::int64_t c) {
  return static_cast<unsigned>((c + 127) / 128);
}
}  // namespace

// launchers

void batchnorm_forward_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                             float* partials, const float* x, const float* gamma, const float* beta, std::int64_t n,
                             std::int64_t c, std::int64_t hw, int slices, float momentum, float eps,
                             cudaStream_t stream) {
  const std::int64_t total = n * c * hw;
  if (total == 0) return;
  const dim3 grid = partials_grid(c, slices);
  float* partial_b = partials + c * slices;
  SQ_LAUNCH(bn_partials_kernel<PartialMode::shifted_sums>, grid, kPartialThreads, 0, stream, partials, partial_b, x,
            nullptr, nullptr, nullptr, n, c, hw, slices);
  SQ_CUDA_CHECK_LAUNCH();
  SQ_LAUNCH(bn_finalize_stats_kernel, channel_blocks(c), 128, 0, stream, save_mean, save_invstd, running_mean,
            running_var, x, partials, partial_b, c, hw, n * hw, slices, momentum, eps);
  SQ_CUDA_CHECK_LAUNCH();
  const PlaneLaunch launch = plane_launch(n * c, hw);
  SQ_LAUNCH(bn_normalize_kernel, launch.grid, launch.threads, 0, stream, y, x, save_mean, save_invstd, gamma, beta,
            n * c, c, hw);
  SQ_CUDA_CHECK_LAUNCH();
}

void batchnorm_forward_eval(float* y, const float* x, const float* gamma, const float* beta, const float* running_mean,
                            const float* running_var, std::int64_t n, std::int64_t c, std::int64_t hw, float eps,
                            cudaStream_t stream) {
  const std::int64_t total = n * c * hw;
  if (total == 0) return;
  const PlaneLaunch launch = plane_launch(n * c, hw);
  SQ_LAUNCH(bn_eval_kernel, launch.grid, launch.threads, 0, stream, y, x, gamma, beta, running_mean, running_var, n * c,
            c, hw, eps);
  SQ_CUDA_CHECK_LAUNCH();
}

void batchnorm_backward(float* dx, float* dgamma, float* dbeta, float* partials, const float* dy, const float* x,
                        const float* save_mean, const float* save_invstd, const float* gamma, std::int64_t n,
                        std::int64_t c, std::int64_t hw, int slices, cudaStream_t stream) {
  const std::int64_t total = n * c * hw;
  if (total == 0) return;
  const dim3 grid = partials_grid(c, slices);
  float* partial_b = partials + c * slices;
  SQ_LAUNCH(bn_partials_kernel<PartialMode::sum_dy_and_dy_xhat>, grid, kPartialThreads, 0, stream, partials, partial_b,
            x, dy, save_mean, save_invstd, n, c, hw, slices);
  SQ_CUDA_CHECK_LAUNCH();
  SQ_LAUNCH(bn_finalize_backward_kernel, channel_blocks(c), 128, 0, stream, dgamma, dbeta, partials, partial_b, c,
            slices);
  SQ_CUDA_CHECK_LAUNCH();
  const PlaneLaunch launch = plane_launch(n * c, hw);
  SQ_LAUNCH(bn_input_grad_kernel, launch.grid, launch.threads, 0, stream, dx, dy, x, save_mean, save_invstd, gamma,
            dgamma, dbeta, n * c, c, hw, 1.f / static_cast<float>(n * hw));
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace sq::gpu
