// Per-channel bias over [outer, channels, inner] tensors: add (element-wise) and gradient (one block per channel,
// fixed-order reduction, so repeated runs give the same bits).
#include "bias.cuh"
#include "launch.cuh"
#include "sq/core/cuda_check.hpp"

namespace sq::gpu {

// kernels

namespace {
constexpr int kReduceThreads = 256;

__global__ void bias_add_kernel(float* y, const float* bias, std::int64_t planes, std::int64_t channels,
                                std::int64_t inner) {
  SQ_FOR_EACH_PLANE(p, planes) {
    const float b = bias[p % channels];
    float* row = y + p * inner;
    SQ_FOR_EACH_IN_PLANE(i, inner) row[i] += b;
  }
}

__global__ void bias_grad_kernel(float* dbias, const float* dy, std::int64_t outer, std::int64_t channels,
                                 std::int64_t inner) {
  __shared__ float partial[kReduceThreads];
  const std::int64_t c = blockIdx.x;
  float sum = 0.f;
  if (inner >= blockDim.x) {
    for (std::int64_t o = 0; o < outer; ++o) {
      const float* row = dy + (o * channels + c) * inner;
      for (std::int64_t i = threadIdx.x; i < inner; i += blockDim.x) sum += row[i];
    }
  } else {
    // Small planes: 32-bit index arithmetic (setup() keeps tensors under 2^31 elements).
    const unsigned count = static_cast<unsigned>(outer * inner), in = static_cast<unsigned>(inner);
    for (unsigned j = threadIdx.x; j < count; j += blockDim.x) {
      const unsigned o = j / in;
      sum += dy[(o * channels + c) * inner + (j - o * in)];
    }
  }
  partial[threadIdx.x] = sum;
  block_reduce_sum(partial);
  if (threadIdx.x == 0) dbias[c] = partial[0];
}
}  // namespace

// launchers

void bias_add(float* y, const float* bias, std::int64_t outer, std::int64_t channels, std::int64_t inner,
              cudaStream_t stream) {
  if (outer * channels * inner == 0) return;
  const PlaneLaunch launch = plane_launch(outer * channels, inner);
  SQ_LAUNCH(bias_add_kernel, launch.grid, launch.threads, 0, stream, y, bias, outer * channels, channels, inner);
  SQ_CUDA_CHECK_LAUNCH();
}

void bias_grad(float* dbias, const float* dy, std::int64_t outer, std::int64_t channels, std::int64_t inner,
               cudaStream_t stream) {
  if (channels == 0) return;
  SQ_LAUNCH(bias_grad_kernel, static_cast<unsigned>(channels), kReduceThreads, 0, stream, dbias, dy, outer, channels,
            inner);
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace sq::gpu
