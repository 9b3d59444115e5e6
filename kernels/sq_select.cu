// SQ selection for ALL layers in one launch: one 256-thread block per layer computes p from the unit errors
// (segmented canonical sums), the sampler's choice of N_q units (topk / frozen / sorted: keys, then the N_q
// largest, ties to the lower index, by ranking in shared memory for <= 1024 units or an exact block-wide radix
// select beyond; roulette / caffe: a sum tree walked by
// one thread, sq/detail/sq_roulette.hpp), writes the mask and the layer's statistics.
#include <cub/block/block_scan.cuh>

#include "launch.cuh"
#include "sq/core/cuda_check.hpp"
#include "sq/detail/sq_roulette.hpp"
#include "sq/detail/sq_select.hpp"
#include "sq_block.cuh"
#include "sq_select.cuh"

namespace sq::cuda {
namespace {

// kernels

using BlockScan = cub::BlockScan<int, kSqBlock>;

struct RadixShared {
  unsigned histogram[256];
  std::uint64_t prefix;
  long long remaining;
};

// mask[i] = 1 for the k largest keys (ties to the lower index), 0 elsewhere; 0 < k < n.
// Eight passes of 8 bits find the k-th largest key T and how many of the keys equal to T to take; one ordered
// pass with a block scan then takes those in index order.
__device__ void radix_select_top(const std::uint64_t* keys, std::int64_t n, std::int64_t k, std::uint8_t* mask,
                                 RadixShared& s, BlockScan::TempStorage& scan) {
  if (threadIdx.x == 0) {
    s.prefix = 0;
    s.remaining = k;
  }
  std::uint64_t prefix_mask = 0;
  for (int shift = 56; shift >= 0; shift -= 8) {
    s.histogram[threadIdx.x] = 0;
    __syncthreads();
    const std::uint64_t prefix = s.prefix;
    for (std::int64_t i = threadIdx.x; i < n; i += kSqBlock) {
      const std::uint64_t key = keys[i];
      if ((key & prefix_mask) == prefix) atomicAdd(&s.histogram[(key >> shift) & 255u], 1u);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      long long above = 0;
      for (int bin = 255; bin >= 0; --bin) {
        const long long count = s.histogram[bin];
        if (above + count >= s.remaining) {
          s.prefix = prefix | (static_cast<std::uint64_t>(bin) << shift);
          s.remaining -= above;
          break;
        }
        above += count;
      }
    }
    prefix_mask |= 255ull << shift;
    __syncthreads();
  }
  const std::uint64_t threshold = s.prefix;
  const long long take = s.remaining;
  long long taken = 0;
  for (std::int64_t base = 0; base < n; base += kSqBlock) {
    const std::int64_t i = base + threadIdx.x;
    const std::uint64_t key = i < n ? keys[i] : 0;
    const int equal = (i < n && key == threshold) ? 1 : 0;
    int rank, equal_here;
    BlockScan(scan).ExclusiveSum(equal, rank, equal_here);
    if (i < n) mask[i] = (key > threshold || (equal && taken + rank < take)) ? 1 : 0;
    taken += equal_here;
    __syncthreads();
  }
}

// Same result as radix_select_top for layers of at most kRankSelectMax units (most layers: one row each per
// output channel): unit i is selected when fewer than k units rank above it (larger key, or equal key and lower
// index). O(n^2 / 256) compares on keys held in shared memory, no serial step: cheaper than 8 radix passes here.
constexpr int kRankSelectMax = 1024;

__device__ void rank_select_top(const std::uint64_t* keys, std::int64_t n, std::int64_t k, std::uint8_t* mask,
                                std::uint64_t* shared_keys) {
  for (std::int64_t i = threadIdx.x; i < n; i += kSqBlock) shared_keys[i] = keys[i];
  __syncthreads();
  for (std::int64_t i = threadIdx.x; i < n; i += kSqBlock) {
    const std::uint64_t key = shared_keys[i];
    std::int64_t rank = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      const std::uint64_t other = shared_keys[j];
      rank += (other > key || (other == key && j < i)) ? 1 : 0;
    }
    mask[i] = rank < k ? 1 : 0;
  }
  __syncthreads();
}

// Sum tree over `leaf_value` (0 beyond n), then one thread draws `count` units.
template <class LeafValue>
__device__ void roulette_in_block(double* tree, std::int64_t leaves, std::int64_t n, std::int64_t count,
                                  std::uint8_t chosen, std::uint64_t seed, std::uint64_t subsequence,
                                  std::uint8_t* mask, LeafValue leaf_value) {
  for (std::int64_t i = threadIdx.x; i < leaves; i += kSqBlock) tree[leaves + i] = i < n ? leaf_value(i) : 0.0;
  for (std::int64_t i = threadIdx.x; i < n; i += kSqBlock) mask[i] = static_cast<std::uint8_t>(1 - chosen);
  __syncthreads();
  for (std::int64_t level = leaves / 2; level >= 1; level /= 2) {
    for (std::int64_t node = level + threadIdx.x; node < 2 * level; node += kSqBlock) {
      tree[node] = tree[2 * node] + tree[2 * node + 1];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) detail::roulette_select(tree, leaves, n, count, seed, subsequence, mask, chosen);
  __syncthreads();
}

__global__ void __launch_bounds__(kSqBlock) select_kernel(detail::SqWorkspaceView ws, detail::SqKernelConfig config,
                                                          std::uint64_t step, const std::uint64_t* device_step) {
  __shared__ double shared[kSqBlock];
  __shared__ RadixShared radix;
  __shared__ BlockScan::TempStorage scan;
  __shared__ std::uint64_t small_keys[kRankSelectMax];
  const int l = blockIdx.x;
  const detail::SqLayerDesc layer = ws.layers[l];
  const std::int64_t n = layer.units;
  const double* e = ws.unit_error + layer.unit_begin;
  std::uint8_t* mask = ws.mask + layer.unit_begin;
  if (device_step != nullptr) step = *device_step;
  const bool keep = config.sampler == detail::SelectKind::frozen && ws.frozen_redraw[l] == 0;
  if (!keep && (layer.n_q <= 0 || layer.n_q >= n)) {
    for (std::int64_t i = threadIdx.x; i < n; i += kSqBlock) mask[i] = layer.n_q > 0 ? 1 : 0;
  } else if (!keep) {
    const std::uint64_t subsequence = detail::select_subsequence(config, layer, step, l);
    double f_max = 0.0, total = 1.0;
    if (detail::uses_probability(config.sampler)) {
      double acc_max = 0.0;
      for (std::int64_t i = threadIdx.x; i < n; i += kSqBlock) {
        const double f = detail::error_to_f(e[i]);
        acc_max = f > acc_max ? f : acc_max;
      }
      f_max = block_max(acc_max, shared);
      double acc = 0.0;
      for (std::int64_t i = threadIdx.x; i < n; i += kSqBlock) {
        acc += detail::probability_weight(config.probability, detail::error_to_f(e[i]), f_max);
      }
      total = block_canonical_sum(acc, shared);
    }
    const auto probability = [&](std::int64_t i) {
      return detail::probability_weight(config.probability, detail::error_to_f(e[i]), f_max) / total;
    };
    if (detail::uses_keys(config.sampler)) {
      std::uint64_t* keys = ws.unit_key + layer.unit_begin;
      const bool sorted = config.sampler == detail::SelectKind::sorted;
      for (std::int64_t i = threadIdx.x; i < n; i += kSqBlock) {
        keys[i] = detail::unit_key(config, subsequence, i, e[i], sorted ? 0.0 : probability(i));
      }
      __syncthreads();
      if (n <= kRankSelectMax) {
        rank_select_top(keys, n, layer.n_q, mask, small_keys);
      } else {
        radix_select_top(keys, n, layer.n_q, mask, radix, scan);
      }
    } else if (config.sampler == detail::SelectKind::roulette) {
      roulette_in_block(ws.tree + layer.tree_begin, layer.tree_leaves, n, layer.n_q, 1, config.seed, subsequence, mask,
                        probability);
    } else {  // caffe: p proportional to e chooses the N_fp full-precision units
      roulette_in_block(ws.tree + layer.tree_begin, layer.tree_leaves, n, n - layer.n_q, 0, config.seed, subsequence,
                        mask, [&](std::int64_t i) { return e[i]; });
    }
  }
  __syncthreads();
  if (threadIdx.x == 0) ws.frozen_redraw[l] = 0;
  double quantized = 0.0, sum = 0.0, sum_q = 0.0, sum_fp = 0.0;
  for (std::int64_t i = threadIdx.x; i < n; i += kSqBlock) {
    const bool q = mask[i] != 0;
    quantized += q ? 1.0 : 0.0;
    sum += e[i];
    sum_q += q ? e[i] : 0.0;
    sum_fp += q ? 0.0 : e[i];
  }
  double* stats = ws.layer_stats + l * detail::kStatSlots;
  quantized = block_canonical_sum(quantized, shared);
  sum = block_canonical_sum(sum, shared);
  sum_q = block_canonical_sum(sum_q, shared);
  sum_fp = block_canonical_sum(sum_fp, shared);
  if (threadIdx.x == 0) {
    stats[detail::kStatQuantized] = quantized;
    stats[detail::kStatErrorSum] = sum;
    stats[detail::kStatErrorSumQuantized] = sum_q;
    stats[detail::kStatErrorSumFp] = sum_fp;
  }
}

}  // namespace

// launchers

void sq_select(const detail::SqWorkspaceView& ws, const detail::SqKernelConfig& config, std::uint64_t step,
               const std::uint64_t* device_step, cudaStream_t stream) {
  if (ws.layer_count == 0) return;
  SQ_LAUNCH(select_kernel, ws.layer_count, kSqBlock, 0, stream, ws, config, step, device_step);
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace sq::cuda
