// Batch normalisation, training and evaluation, forward and backward. Channel statistics are split reductions:
// a grid of (slice, channel) blocks writes partial sums, one thread per channel adds them in a fixed order (in
// double), and a plane-wise kernel applies the shared formulas of sq/detail/batchnorm_math.hpp. The forward reads x
// twice (3 launches): sums shifted by a sample of the channel avoid the cancellation of E[x^2] - E[x]^2.
// Deterministic for a given shape.
//
// Synchronised BN (docs/DISTRIBUTED.md) runs the same pieces in phases, with the caller's all-reduce of the
// per-channel double sums between them: forward sum x, then sum (x - mean)^2 about the global mean (two passes, as
// the CPU ranks' synchronised BN: a shift would differ between ranks), then the statistics and the output from the
// global sums; backward sum dy and sum dy * xhat, then dx from the global sums.
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
// Synchronised forward: sum x (phase 1), then sum (x - mean)^2 with mean = bn_mean(sums_x, count) (phase 2): one
// output each (partial_b unused).
enum class PartialMode { shifted_sums, sum_dy_and_dy_xhat, sum_x, centered_squares };

constexpr bool two_outputs(PartialMode mode) {
  return mode == PartialMode::shifted_sums || mode == PartialMode::sum_dy_and_dy_xhat;
}

// Block (s, y) sums over images [s * n / slices, (s + 1) * n / slices) of channels c = y, y + gridDim.y, ...
template <PartialMode kMode>
__global__ void bn_partials_kernel(float* partial_a, float* partial_b, const float* x, const float* dy,
                                   const float* mean, const float* invstd, const double* sums_x,
                                   std::int64_t global_count, std::int64_t n, std::int64_t c, std::int64_t hw,
                                   int slices) {
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
    } else if (kMode == PartialMode::centered_squares) {
      m = sq::detail::bn_mean(sums_x[ch], global_count);
    } else if (kMode == PartialMode::sum_dy_and_dy_xhat) {
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
      } else if (kMode == PartialMode::sum_x) {
        a += x[idx];
      } else if (kMode == PartialMode::centered_squares) {
        const float d = x[idx] - m;
        a += d * d;
      } else {
        const float g = dy[idx];
        a += g;
        b += g * ((x[idx] - m) * is);
      }
    }
    sa[threadIdx.x] = a;
    block_reduce_sum(sa);
    if (two_outputs(kMode)) {
      sb[threadIdx.x] = b;
      block_reduce_sum(sb);
    }
    if (threadIdx.x == 0) {
      partial_a[ch * slices + s] = sa[0];
      if (two_outputs(kMode)) partial_b[ch * slices + s] = sb[0];
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
  const float unbiased = sq::detail::bn_unbiased_variance(var, count);
  running_mean[ch] = sq::detail::bn_running_update(running_mean[ch], mean, momentum);
  running_var[ch] = sq::detail::bn_running_update(running_var[ch], unbiased, momentum);
}

// Synchronised forward, after both all-reduces: sums = [sum x (c), sum (x - mean)^2 (c)] over the global batch.
__global__ void bn_stats_from_sums_kernel(float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                                          const double* sums, std::int64_t c, std::int64_t global_count, float momentum,
                                          float eps) {
  const std::int64_t ch = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (ch >= c) return;
  const float mean = sq::detail::bn_mean(sums[ch], global_count);
  const float var = sq::detail::bn_mean(sums[c + ch], global_count);
  save_mean[ch] = mean;
  save_invstd[ch] = sq::detail::bn_invstd(var, eps);
  const float unbiased = sq::detail::bn_unbiased_variance(var, global_count);
  running_mean[ch] = sq::detail::bn_running_update(running_mean[ch], mean, momentum);
  running_var[ch] = sq::detail::bn_running_update(running_var[ch], unbiased, momentum);
}

// sums[ch] = the channel's partials added in slice order (the synchronised forward's phases).
__global__ void bn_channel_sums_kernel(double* sums, const float* partial, std::int64_t c, int slices) {
  const std::int64_t ch = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (ch >= c) return;
  sums[ch] = sum_slices(partial, ch, slices);
}

// dbeta = sum dy, dgamma = sum dy * xhat; `sums` (synchronised backward; may be null) keeps both in double as
// [sum dy (c), sum dy * xhat (c)] for the all-reduce.
__global__ void bn_finalize_backward_kernel(float* dgamma, float* dbeta, double* sums, const float* partial_a,
                                            const float* partial_b, std::int64_t c, int slices) {
  const std::int64_t ch = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (ch >= c) return;
  const double sum_dy = sum_slices(partial_a, ch, slices), sum_dy_xhat = sum_slices(partial_b, ch, slices);
  dbeta[ch] = static_cast<float>(sum_dy);
  dgamma[ch] = static_cast<float>(sum_dy_xhat);
  if (sums != nullptr) {
    sums[ch] = sum_dy;
    sums[c + ch] = sum_dy_xhat;
  }
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

// Sum: float (this rank's dgamma / dbeta) or double (the synchronised backward's all-reduced sums), read as float.
template <class Sum>
__global__ void bn_input_grad_kernel(float* dx, const float* dy, const float* x, const float* mean, const float* invstd,
                                     const float* gamma, const Sum* sum_dy_xhat, const Sum* sum_dy, std::int64_t planes,
                                     std::int64_t c, std::int64_t hw, float inv_count) {
  SQ_FOR_EACH_PLANE(p, planes) {
    const std::int64_t ch = p % c;
    const float m = mean[ch], is = invstd[ch], g = gamma[ch];
    const float sb = static_cast<float>(sum_dy[ch]), sg = static_cast<float>(sum_dy_xhat[ch]);
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
            nullptr, nullptr, nullptr, nullptr, 0, n, c, hw, slices);
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
            x, dy, save_mean, save_invstd, nullptr, 0, n, c, hw, slices);
  SQ_CUDA_CHECK_LAUNCH();
  SQ_LAUNCH(bn_finalize_backward_kernel, channel_blocks(c), 128, 0, stream, dgamma, dbeta, nullptr, partials, partial_b,
            c, slices);
  SQ_CUDA_CHECK_LAUNCH();
  const PlaneLaunch launch = plane_launch(n * c, hw);
  SQ_LAUNCH(bn_input_grad_kernel<float>, launch.grid, launch.threads, 0, stream, dx, dy, x, save_mean, save_invstd,
            gamma, dgamma, dbeta, n * c, c, hw, 1.f / static_cast<float>(n * hw));
  SQ_CUDA_CHECK_LAUNCH();
}

// Synchronised BN phases: the launchers the caller interleaves with its all-reduces of `sums`.

void batchnorm_sums_x(double* sums, float* partials, const float* x, std::int64_t n, std::int64_t c, std::int64_t hw,
                      int slices, cudaStream_t stream) {
  if (n * c * hw == 0) return;
  SQ_LAUNCH(bn_partials_kernel<PartialMode::sum_x>, partials_grid(c, slices), kPartialThreads, 0, stream, partials,
            nullptr, x, nullptr, nullptr, nullptr, nullptr, 0, n, c, hw, slices);
  SQ_CUDA_CHECK_LAUNCH();
  SQ_LAUNCH(bn_channel_sums_kernel, channel_blocks(c), 128, 0, stream, sums, partials, c, slices);
  SQ_CUDA_CHECK_LAUNCH();
}

void batchnorm_sums_centered(double* sums, float* partials, const double* sums_x, const float* x, std::int64_t n,
                             std::int64_t c, std::int64_t hw, std::int64_t global_count, int slices,
                             cudaStream_t stream) {
  if (n * c * hw == 0) return;
  SQ_LAUNCH(bn_partials_kernel<PartialMode::centered_squares>, partials_grid(c, slices), kPartialThreads, 0, stream,
            partials, nullptr, x, nullptr, nullptr, nullptr, sums_x, global_count, n, c, hw, slices);
  SQ_CUDA_CHECK_LAUNCH();
  SQ_LAUNCH(bn_channel_sums_kernel, channel_blocks(c), 128, 0, stream, sums, partials, c, slices);
  SQ_CUDA_CHECK_LAUNCH();
}

void batchnorm_forward_from_sums(float* y, float* save_mean, float* save_invstd, float* running_mean,
                                 float* running_var, const double* sums, const float* x, const float* gamma,
                                 const float* beta, std::int64_t n, std::int64_t c, std::int64_t hw,
                                 std::int64_t global_count, float momentum, float eps, cudaStream_t stream) {
  if (n * c * hw == 0) return;
  SQ_LAUNCH(bn_stats_from_sums_kernel, channel_blocks(c), 128, 0, stream, save_mean, save_invstd, running_mean,
            running_var, sums, c, global_count, momentum, eps);
  SQ_CUDA_CHECK_LAUNCH();
  const PlaneLaunch launch = plane_launch(n * c, hw);
  SQ_LAUNCH(bn_normalize_kernel, launch.grid, launch.threads, 0, stream, y, x, save_mean, save_invstd, gamma, beta,
            n * c, c, hw);
  SQ_CUDA_CHECK_LAUNCH();
}

void batchnorm_backward_sums(double* sums, float* dgamma, float* dbeta, float* partials, const float* dy,
                             const float* x, const float* save_mean, const float* save_invstd, std::int64_t n,
                             std::int64_t c, std::int64_t hw, int slices, cudaStream_t stream) {
  if (n * c * hw == 0) return;
  float* partial_b = partials + c * slices;
  SQ_LAUNCH(bn_partials_kernel<PartialMode::sum_dy_and_dy_xhat>, partials_grid(c, slices), kPartialThreads, 0, stream,
            partials, partial_b, x, dy, save_mean, save_invstd, nullptr, 0, n, c, hw, slices);
  SQ_CUDA_CHECK_LAUNCH();
  SQ_LAUNCH(bn_finalize_backward_kernel, channel_blocks(c), 128, 0, stream, dgamma, dbeta, sums, partials, partial_b, c,
            slices);
  SQ_CUDA_CHECK_LAUNCH();
}

void batchnorm_backward_from_sums(float* dx, const double* sums, const float* dy, const float* x,
                                  const float* save_mean, const float* save_invstd, const float* gamma, std::int64_t n,
                                  std::int64_t c, std::int64_t hw, std::int64_t global_count, cudaStream_t stream) {
  if (n * c * hw == 0) return;
  const PlaneLaunch launch = plane_launch(n * c, hw);
  SQ_LAUNCH(bn_input_grad_kernel<double>, launch.grid, launch.threads, 0, stream, dx, dy, x, save_mean, save_invstd,
            gamma, sums + c, sums, n * c, c, hw, 1.f / static_cast<float>(global_count));
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace sq::gpu
