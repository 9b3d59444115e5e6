// Block-wide reductions in the canonical SQ order (sq/detail/sq_reduce.hpp) for 256-thread blocks, and the
// grid-row mapping shared by the SQ kernels.
#pragma once

#include <cstdint>

#include "sq/detail/sq_reduce.hpp"

namespace sq::cuda {

constexpr int kSqBlock = detail::kSqLanes;  // every SQ kernel runs 256-thread blocks: one lane per thread

// Each thread passes its lane's partial sum; every thread gets the total, folded exactly like the host twin.
__device__ inline double block_canonical_sum(double partial, double* shared) {
  shared[threadIdx.x] = partial;
  __syncthreads();
  for (int stride = kSqBlock / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) shared[threadIdx.x] += shared[threadIdx.x + stride];
    __syncthreads();
  }
  const double total = shared[0];
  __syncthreads();
  return total;
}

// Maximum (order-independent); NaN partials are ignored as on the host.
__device__ inline double block_max(double partial, double* shared) {
  shared[threadIdx.x] = partial;
  __syncthreads();
  for (int stride = kSqBlock / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) {
      const double other = shared[threadIdx.x + stride];
      shared[threadIdx.x] = other > shared[threadIdx.x] ? other : shared[threadIdx.x];
    }
    __syncthreads();
  }
  const double result = shared[0];
  __syncthreads();
  return result;
}

// Grid size for kernels that loop over global rows (grid-stride).
inline unsigned row_grid(std::int64_t rows) {
  return static_cast<unsigned>(rows < 65536 ? (rows > 0 ? rows : 1) : 65536);
}

}  // namespace sq::cuda
