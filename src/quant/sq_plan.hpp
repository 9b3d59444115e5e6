// The layout of an SQ pipeline's workspace for a set of segments and options: layer descriptors, kernel
// configuration, and where each array lives in one byte buffer (device or host).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "sq/detail/sq_layout.hpp"
#include "sq/quant/options.hpp"

namespace sq::quant {

struct SqPlan {
  std::vector<detail::SqLayerDesc> layers;
  detail::SqKernelConfig config{};
  std::int64_t total_rows = 0, total_units = 0, total_tree = 0;
  bool separate_row_sums = false;  // layer-wide thresholds: row sums for all rows before quantizing any
  bool deviation_pass = false;     // twn-caffe
  // Host steps of large plans run layers [0, parallel_split) and [parallel_split, end) on two threads (layers are
  // independent, so the results do not change); 0: one thread.
  int parallel_split = 0;
  // Optional names of the layers (model parameter names, SqPipeline::set_layer_names) for error messages.
  std::vector<std::string> layer_names;
  // Byte offsets of each array in the workspace, and its total size.
  std::size_t at_layers = 0, at_rows = 0, at_error = 0, at_key = 0, at_mask = 0, at_tree = 0, at_stats = 0,
              at_frozen = 0, at_nonfinite = 0, bytes = 0;
};

// Validates segments (positive sizes, no overlap, at most 65536 layers, < 2^31 units per layer) and options.
SqPlan make_plan(const std::vector<SqSegment>& segments, const SqOptions& options);

// Rewrites each layer's n_q for `ratio`.
void set_plan_ratio(SqPlan& plan, double ratio);

// Pointers into a workspace of plan.bytes bytes at `base`.
detail::SqWorkspaceView carve_workspace(const SqPlan& plan, void* base);

// Kernel launches one step costs on the GPU (quantize passes + select + hybrid).
int launches_per_step(const SqPlan& plan);

}  // namespace sq::quant
