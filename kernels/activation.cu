// ReLU forward/backward and the residual add: element-wise, grid-stride, bitwise equal to the host twins.
#include "activation.cuh"
#include "launch.cuh"
#include "sq/core/cuda_check.hpp"

namespace sq::gpu {

// kernels

namespace {
__global__ void relu_forward_kernel(float* y, const float* x, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    const float v = x[i];
    y[i] = v > 0.f ? v : 0.f;
  }
}

__global__ void relu_backward_kernel(float* dx, const float* dy, const float* y, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    dx[i] = y[i] > 0.f ? dy[i] : 0.f;
  }
}

__global__ void add_kernel(float* out, const float* a, const float* b, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    out[i] = a[i] + b[i];
  }
}
}  // namespace

// launchers

void relu_forward(float* y, const float* x, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  SQ_LAUNCH(relu_forward_kernel, elementwise_blocks(n), kElementwiseThreads, 0, stream, y, x, n);
  SQ_CUDA_CHECK_LAUNCH();
}

void relu_backward(float* dx, const float* dy, const float* y, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  SQ_LAUNCH(relu_backward_kernel, elementwise_blocks(n), kElementwiseThreads, 0, stream, dx, dy, y, n);
  SQ_CUDA_CHECK_LAUNCH();
}

void add(float* out, const float* a, const float* b, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  SQ_LAUNCH(add_kernel, elementwise_blocks(n), kElementwiseThreads, 0, stream, out, a, b, n);
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace sq::gpu
