// Block-wide reductions in the canonical SQ order (sq/detail/sq_reduce.hpp) for 256-thread blocks, and the
// grid-row mapping shared by the SQ kernels.
#pragma once

#include <cstdint>

#include "sq/detail/sq_reduce.hpp"

namespace sq::cuda {

constexpr int kSqBlock = detail::kSqLanes;  // every SQ kernel runs 256-thread blocks: one lane per thread

// Each thread passes its lane's partial sum; every thread gets the total, folded exactly like the host twin:
// lanes l and l + 128, then + 64, + 32 through shared memory, then + 16 ... + 1 by warp shuffles (the same pairs
// in the same order, three barriers instead of eight).
__device__ inline double block_canonical_sum(double partial, double* shared) {
  static_assert(kSqBlock == 256, "the fold below is written for 256 lanes");
  shared[threadIdx.x] = partial;
  __syncthreads();
  if (threadIdx.x < 128) shared[threadIdx.x] += shared[threadIdx.x + 128];
  __syncthreads();
  if (threadIdx.x < 64) shared[threadIdx.x] += shared[threadIdx.x + 64];
  __syncthreads();
  if (threadIdx.x < 32) {
    double v = shared[threadIdx.x] + shared[threadIdx.x + 32];
    for (int stride = 16; stride > 0; stride /= 2) v += __shfl_down_sync(0xffffffffu, v, stride);
    if (threadIdx.x == 0) shared[0] = v;
  }
  __syncthreads();
  const double total = shared[0];
  __syncthreads();
  return total;
}

// Maximum (order-independent); NaN partials are ignored as on the host.
__device__ inline double block_max(double partial, double* shared) {
  shared[threadIdx.x] = partial;
  __syncthreads();
  if (threadIdx.x < 128) {
    const double other = shared[threadIdx.x + 128];
    shared[threadIdx.x] = other > shared[threadIdx.x] ? other : shared[threadIdx.x];
  }
  __syncthreads();
  if (threadIdx.x < 32) {
    double v = shared[threadIdx.x];
    for (int k = 32; k < 128; k += 32) v = shared[threadIdx.x + k] > v ? shared[threadIdx.x + k] : v;
    for (int stride = 16; stride > 0; stride /= 2) {
      const double other = __shfl_down_sync(0xffffffffu, v, stride);
      v = other > v ? other : v;
    }
    if (threadIdx.x == 0) shared[0] = v;
  }
  __syncthreads();
  const double result = shared[0];
  __syncthreads();
  return result;
}

// Grid size for kernels that loop over global rows (grid-stride).
inline unsigned row_grid(std::int64_t rows) {
  return static_cast<unsigned>(rows < 65536 ? (rows > 0 ? rows : 1) : 65536);
}

}  // namespace sq::cuda
