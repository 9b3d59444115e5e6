// Per-channel bias over [outer, channels, inner] tensors: add (element-wise) and gradient (one block per channel,
// fixed-order reduction, so repeated runs give the same bits).
#include "bias.cuh"
#include "launch.cuh"
#include "sq/core/cuda_check.hpp"

namespace sq::gpu {

// kernels

namespace {
constexpr int kReduceThreads = 256;

__global__ void bias_add_kernel(float* y, const float* bias, std::int64_t n, std::int64_t channels,
                                std::int64_t inner) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    y[i] += bias[(i / inner) % channels];
  }
}

__global__ void bias_grad_kernel(float* dbias, const float* dy, std::int64_t outer, std::int64_t channels,
                                 std::int64_t inner) {
  __shared__ float partial[kReduceThreads];
  const std::int64_t c = blockIdx.x;
  const std::int64_t count = outer * inner;
  float sum = 0.f;
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const std::int64_t o = j / inner, i = j % inner;
    sum += dy[(o * channels + c) * inner + i];
  }
  partial[threadIdx.x] = sum;
  block_reduce_sum(partial);
  if (threadIdx.x == 0) dbias[c] = partial[0];
}
}  // namespace

// launchers

void bias_add(float* y, const float* bias, std::int64_t outer, std::int64_t channels, std::int64_t inner,
              cudaStream_t stream) {
  const std::int64_t n = outer * channels * inner;
  if (n == 0) return;
  bias_add_kernel<<<elementwise_blocks(n), kElementwiseThreads, 0, stream>>>(y, bias, n, channels, inner);
  SQ_CUDA_CHECK_LAUNCH();
}

void bias_grad(float* dbias, const float* dy, std::int64_t outer, std::int64_t channels, std::int64_t inner,
               cudaStream_t stream) {
  if (channels == 0) return;
  bias_grad_kernel<<<static_cast<unsigned>(channels), kReduceThreads, 0, stream>>>(dbias, dy, outer, channels, inner);
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace sq::gpu
