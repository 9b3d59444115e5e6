// Max pooling (no padding; the argmax is saved for backward) and global average pooling. Backward of max pooling
// gathers (one thread per input element, windows in a fixed order) instead of scattering with atomics, so it is
// deterministic and bitwise equal to the host twin even with overlapping windows.
#include "launch.cuh"
#include "pool.cuh"
#include "sq/core/cuda_check.hpp"
#include "sq/detail/pool_math.hpp"

namespace sq::gpu {

// kernels

namespace {
__global__ void maxpool2d_forward_kernel(float* y, std::int32_t* argmax, const float* x, std::int64_t planes, int h,
                                         int w, int kernel, int stride, int out_h, int out_w) {
  SQ_FOR_EACH_PLANE(p, planes) SQ_FOR_EACH_IN_PLANE(q, out_h * out_w) {
    const int oh = static_cast<int>(q) / out_w, ow = static_cast<int>(q) - oh * out_w;
    const std::int64_t o = p * out_h * out_w + q;
    const float* in = x + p * h * w;
    int best = oh * stride * w + ow * stride;
    for (int kh = 0; kh < kernel; ++kh) {
      for (int kw = 0; kw < kernel; ++kw) {
        const int idx = (oh * stride + kh) * w + ow * stride + kw;
        if (in[idx] > in[best]) best = idx;
      }
    }
    y[o] = in[best];
    argmax[o] = best;
  }
}

__global__ void maxpool2d_backward_kernel(float* dx, const float* dy, const std::int32_t* argmax, std::int64_t planes,
                                          int h, int w, int kernel, int stride, int out_h, int out_w) {
  SQ_FOR_EACH_PLANE(p, planes) SQ_FOR_EACH_IN_PLANE(q, h * w) {
    const int ih = static_cast<int>(q) / w, iw = static_cast<int>(q) - ih * w;
    const std::int64_t e = p * h * w + q;
    int oh0, oh1, ow0, ow1;
    sq::detail::pool_windows_containing(ih, kernel, stride, out_h, &oh0, &oh1);
    sq::detail::pool_windows_containing(iw, kernel, stride, out_w, &ow0, &ow1);
    const float* g = dy + p * out_h * out_w;
    const std::int32_t* arg = argmax + p * out_h * out_w;
    const int self = ih * w + iw;
    float sum = 0.f;
    for (int oh = oh0; oh <= oh1; ++oh) {
      for (int ow = ow0; ow <= ow1; ++ow) {
        if (arg[oh * out_w + ow] == self) sum += g[oh * out_w + ow];
      }
    }
    dx[e] = sum;
  }
}

// One thread per plane, summing in index order as the twin does (planes are small: 8x8 in ResNets).
__global__ void global_avgpool_forward_kernel(float* y, const float* x, std::int64_t planes, std::int64_t hw) {
  for (std::int64_t p = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; p < planes;
       p += std::int64_t(gridDim.x) * blockDim.x) {
    float sum = 0.f;
    for (std::int64_t i = 0; i < hw; ++i) sum += x[p * hw + i];
    y[p] = sum / static_cast<float>(hw);
  }
}

__global__ void global_avgpool_backward_kernel(float* dx, const float* dy, std::int64_t planes, std::int64_t hw) {
  SQ_FOR_EACH_PLANE(p, planes) {
    const float g = dy[p] / static_cast<float>(hw);
    SQ_FOR_EACH_IN_PLANE(i, hw) dx[p * hw + i] = g;
  }
}
}  // namespace

// launchers

void maxpool2d_forward(float* y, std::int32_t* argmax, const float* x, std::int64_t planes, int h, int w, int kernel,
                       int stride, int out_h, int out_w, cudaStream_t stream) {
  if (planes * out_h * out_w == 0) return;
  const PlaneLaunch launch = plane_launch(planes, out_h * out_w);
  SQ_LAUNCH(maxpool2d_forward_kernel, launch.grid, launch.threads, 0, stream, y, argmax, x, planes, h, w, kernel,
            stride, out_h, out_w);
  SQ_CUDA_CHECK_LAUNCH();
}

void maxpool2d_backward(float* dx, const float* dy, const std::int32_t* argmax, std::int64_t planes, int h, int w,
                        int kernel, int stride, int out_h, int out_w, cudaStream_t stream) {
  if (planes * h * w == 0) return;
  const PlaneLaunch launch = plane_launch(planes, h * w);
  SQ_LAUNCH(maxpool2d_backward_kernel, launch.grid, launch.threads, 0, stream, dx, dy, argmax, planes, h, w, kernel,
            stride, out_h, out_w);
  SQ_CUDA_CHECK_LAUNCH();
}

void global_avgpool_forward(float* y, const float* x, std::int64_t planes, std::int64_t hw, cudaStream_t stream) {
  if (planes == 0) return;
  SQ_LAUNCH(global_avgpool_forward_kernel, elementwise_blocks(planes), kElementwiseThreads, 0, stream, y, x, planes,
            hw);
  SQ_CUDA_CHECK_LAUNCH();
}

void global_avgpool_backward(float* dx, const float* dy, std::int64_t planes, std::int64_t hw, cudaStream_t stream) {
  if (planes * hw == 0) return;
  const PlaneLaunch launch = plane_launch(planes, hw);
  SQ_LAUNCH(global_avgpool_backward_kernel, launch.grid, launch.threads, 0, stream, dx, dy, planes, hw);
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace sq::gpu
