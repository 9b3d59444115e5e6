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
