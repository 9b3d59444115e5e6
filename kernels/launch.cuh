// Launch-shape helpers shared by the nn kernel families (results never depend on the device's size).
#pragma once

#include <cstdint>

namespace sq::gpu {

constexpr int kElementwiseThreads = 256;

// Grid for a grid-stride element-wise loop: enough blocks to fill an H100/H200 several times over, capped.
inline int elementwise_blocks(std::int64_t n) {
  const std::int64_t blocks = (n + kElementwiseThreads - 1) / kElementwiseThreads;
  return static_cast<int>(blocks < 4096 ? (blocks > 0 ? blocks : 1) : 4096);
}

#if defined(__CUDACC__)
// Launch shape for kernels that walk tensors as planes ([outer * channels] planes of `plane_size` contiguous
// elements): blockIdx.y strides over planes (one channel lookup per plane instead of a 64-bit division per
// element), threads over the plane. Small planes (8x8 maps, 1 for (N, C) tensors) get small blocks.
struct PlaneLaunch {
  dim3 grid;
  unsigned threads;
};

inline PlaneLaunch plane_launch(std::int64_t planes, std::int64_t plane_size) {
  unsigned threads = 256;
  if (plane_size < 256) threads = static_cast<unsigned>((plane_size + 31) / 32 * 32);
  if (threads == 0) threads = 32;
  std::int64_t x = (plane_size + threads - 1) / threads;
  if (x > 64) x = 64;
  if (x < 1) x = 1;
  const std::int64_t y = planes < 65535 ? (planes > 0 ? planes : 1) : 65535;
  return {dim3(static_cast<unsigned>(x), static_cast<unsigned>(y)), threads};
}

#define SQ_FOR_EACH_PLANE(p, planes) for (std::int64_t p = blockIdx.y; p < (planes); p += gridDim.y)
#define SQ_FOR_EACH_IN_PLANE(i, size)                                                    \
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < (size); \
       i += std::int64_t(gridDim.x) * blockDim.x)

// Fixed-order tree reduction of a shared array of blockDim.x (a power of two) values; the sum ends in s[0].
template <class T>
__device__ inline void block_reduce_sum(T* s) {
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) s[threadIdx.x] += s[threadIdx.x + half];
    __syncthreads();
  }
}
#endif

}  // namespace sq::gpu
