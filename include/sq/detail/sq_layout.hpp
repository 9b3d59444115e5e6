// The SQ pipeline's workspace as plain pointers (device or host), passed by value to every kernel and host twin:
// per-layer descriptors, per-row scalars, per-unit errors/keys/mask, per-layer statistics and flags.
#pragma once

#include <cstdint>

#include "sq/detail/host_device.hpp"
#include "sq/detail/sq_math.hpp"

namespace sq::detail {

struct SqLayerDesc {
  std::int64_t offset;       // first weight in the weight buffer
  std::int64_t rows, cols;   // the layer as an m x n matrix
  std::int64_t units;        // rows (channel granularity) or rows * cols (element granularity)
  std::int64_t row_begin;    // first global row (index into the per-row arrays)
  std::int64_t unit_begin;   // first unit (index into errors, keys, mask)
  std::int64_t tree_begin;   // roulette / caffe: the layer's sum tree, 2 * tree_leaves doubles
  std::int64_t tree_leaves;  // a power of two >= units (0 when no tree is needed)
  std::int64_t n_q;          // units quantized this stage (SQ_SPEC section 5); rewritten by set_ratio
  // Frozen sampler: the stage whose draw is kept; rewritten by set_stage. In device memory (like n_q), not in the
  // kernel arguments, so a captured CUDA graph reads the current stage at each replay.
  std::uint64_t stage;
};

// How a layer's TWN threshold D is formed: none (bwn, kbit), 0.7 mean |W| over the layer (twn), 0.7 mean
// |W - mean W| over the layer (twn-caffe), 0.7 mean |W| over the row (twn-channel).
enum class ThresholdMode : int { none = 0, layer_abs = 1, layer_deviation = 2, row_abs = 3 };
enum class SelectKind : int { topk = 0, roulette = 1, sorted = 2, frozen = 3, caffe = 4 };
constexpr double kTwnThresholdFactor = 0.7;
constexpr std::uint32_t kNoNonfinite = 0xffffffffu;

struct SqKernelConfig {
  QuantKind quant;
  ThresholdMode threshold;
  int levels;  // kbit: L
  ProbKind probability;
  SelectKind sampler;
  bool element;  // element granularity
  std::uint64_t seed;
};

// Per-layer statistics slots in SqWorkspaceView::layer_stats.
enum LayerStatSlot : int { kStatQuantized = 0, kStatErrorSum, kStatErrorSumQuantized, kStatErrorSumFp, kStatSlots };

struct SqWorkspaceView {
  const SqLayerDesc* layers;
  int layer_count;
  std::int64_t total_rows;
  std::int64_t total_units;
  double* row_sum_abs;           // sum_j |W_ij|
  double* row_sum;               // sum_j W_ij (twn-caffe)
  double* row_max_abs;           // max_j |W_ij| (kbit)
  double* row_deviation;         // sum_j |W_ij - mean W| (twn-caffe)
  double* row_scale;             // a_i (bwn, ternary) or s_i (kbit)
  double* row_threshold;         // D for the row's layer (or the row's own D)
  double* unit_error;            // e per unit
  std::uint64_t* unit_key;       // sortable selection keys (topk, frozen, sorted)
  std::uint8_t* mask;            // 1 = quantized, per unit
  double* tree;                  // roulette / caffe sum trees
  double* layer_stats;           // kStatSlots doubles per layer
  std::uint32_t* frozen_redraw;  // per layer: 1 = the frozen sampler draws at the next step
  std::uint32_t* nonfinite;      // lowest global row holding a NaN or Inf weight (kNoNonfinite: none)
};

// The layer holding global row `row` (binary search over row_begin).
SQ_HOST_DEVICE inline int find_layer(const SqLayerDesc* layers, int count, std::int64_t row) {
  int lo = 0, hi = count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (layers[mid].row_begin <= row) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

}  // namespace sq::detail
