// The one launch helper every launcher in kernels/ uses (SQ_LAUNCH), and launch-shape helpers shared by the nn
// kernel families (results never depend on the device's size).
#pragma once

#include <cstdint>

// kernel<<<grid, block, shared_bytes, stream>>>(args...) under nvcc; under the CPU emulation of the tests
// (tests/emu, docs/EMULATION.md) the same launch runs on the emulator, so kernel sources stay plain CUDA.
#if defined(SQ_CUDA_EMULATION)
#define SQ_LAUNCH(kernel, grid, block, shared_bytes, stream, ...) \
  ::sq::emu::launch_kernel(#kernel, (grid), (block), (shared_bytes), (stream), kernel, __VA_ARGS__)
#else
#define SQ_LAUNCH(kernel, grid, block, shared_bytes, stream, ...) \
  kernel<<<(grid), (block), (shared_bytes), (stream)>>>(__VA_ARGS__)
#endif

// `T* name` = the launch's dynamic shared memory (`extern __shared__` under nvcc).
#if defined(SQ_CUDA_EMULATION)
#define SQ_DYNAMIC_SHARED(T, name) T* name = ::sq::emu::dynamic_shared<T>()
#else
#define SQ_DYNAMIC_SHARED(T, name)                                    \
  extern __shared__ __align__(16) unsigned char sq_dynamic_shared_[]; \
  T* name = reinterpret_cast<T*>(sq_dynamic_shared_)
#endif

namespace sq::gpu {

// The hardware's limit on gridDim.y and gridDim.z; the emulated tests lower it (sq::emu::limits()) so that the
// loops of kernels over more planes or channels than a grid may have are exercised on small tensors.
inline unsigned max_grid_yz() {
#if defined(SQ_CUDA_EMULATION)
  return ::sq::emu::limits().max_grid_yz;
#else
  return 65535u;
#endif
}

constexpr int kElementwiseThreads = 256;

// Grid for a grid-stride element-wise loop: enough blocks to fill an H100/H200 several times over, capped.
inline int elementwise_blocks(std::int64_t n) {
  const std::int64_t blocks = (n + kElementwiseThreads - 1) / kElementwiseThreads;
  return static_cast<int>(blocks < 4096 ? (blocks > 0 ? blocks : 1) : 4096);
}

#if defined(__CUDACC__) || defined(SQ_CUDA_EMULATION)
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
  const std::int64_t cap = max_grid_yz();
  const std::int64_t y = planes < cap ? (planes > 0 ? planes : 1) : cap;
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
