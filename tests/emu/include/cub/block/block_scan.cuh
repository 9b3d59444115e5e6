// Emulated cub::BlockScan (tests/emu): the documented contract, not CUB's algorithm. Every thread of the block
// must call a scan (it contains a __syncthreads, so a scan not reached by all threads is reported), outputs are
// the exclusive / inclusive prefix sums in thread-rank order and the block aggregate. As CUB documents, a
// __syncthreads is needed before TempStorage is reused: this scan reads the other threads' inputs after its only
// barrier, so a kernel that reuses the storage without one reads overwritten inputs in some schedule.
#pragma once

#include <string>

#include "sq_emu/cuda_emulation.hpp"

namespace cub {

enum BlockScanAlgorithm { BLOCK_SCAN_RAKING, BLOCK_SCAN_RAKING_MEMOIZE, BLOCK_SCAN_WARP_SCANS };

template <class T, int BLOCK_DIM_X, BlockScanAlgorithm ALGORITHM = BLOCK_SCAN_RAKING, int BLOCK_DIM_Y = 1,
          int BLOCK_DIM_Z = 1>
class BlockScan {
  static constexpr int kThreads = BLOCK_DIM_X * BLOCK_DIM_Y * BLOCK_DIM_Z;

 public:
  struct TempStorage {
    T inputs[kThreads];
  };

  explicit BlockScan(TempStorage& storage) : storage_(storage) {
    if (blockDim.x != unsigned(BLOCK_DIM_X) || blockDim.y != unsigned(BLOCK_DIM_Y) ||
        blockDim.z != unsigned(BLOCK_DIM_Z)) {
      throw ::sq::emu::Hazard("cub::BlockScan<" + std::to_string(BLOCK_DIM_X) + ", " + std::to_string(BLOCK_DIM_Y) +
                              ", " + std::to_string(BLOCK_DIM_Z) + "> used in a block of " +
                              std::to_string(blockDim.x) + "x" + std::to_string(blockDim.y) + "x" +
                              std::to_string(blockDim.z) + " threads");
    }
  }

  void ExclusiveSum(T input, T& output) {
    T aggregate;
    ExclusiveSum(input, output, aggregate);
  }
  void ExclusiveSum(T input, T& output, T& block_aggregate) {
    T inclusive;
    Scan(input, output, inclusive, block_aggregate);
  }
  void InclusiveSum(T input, T& output) {
    T aggregate;
    InclusiveSum(input, output, aggregate);
  }
  void InclusiveSum(T input, T& output, T& block_aggregate) {
    T exclusive;
    Scan(input, exclusive, output, block_aggregate);
  }

 private:
  void Scan(T input, T& exclusive, T& inclusive, T& aggregate) {
    const int rank = static_cast<int>(threadIdx.x + BLOCK_DIM_X * (threadIdx.y + BLOCK_DIM_Y * threadIdx.z));
    storage_.inputs[rank] = input;
    __syncthreads();
    T prefix = T();
    for (int i = 0; i < rank; ++i) prefix = prefix + storage_.inputs[i];
    exclusive = prefix;
    inclusive = prefix + storage_.inputs[rank];
    T total = inclusive;
    for (int i = rank + 1; i < kThreads; ++i) total = total + storage_.inputs[i];
    aggregate = total;
  }

  TempStorage& storage_;
};

}  // namespace cub
