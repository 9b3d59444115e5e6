// Workspace layout of the SQ pipeline (see sq_plan.hpp); sizes are fixed here, once, never per step.
#include "quant/sq_plan.hpp"

#include <algorithm>

#include "sq/core/error.hpp"

namespace sq::quant {
namespace {

constexpr std::size_t kAlign = 256;
std::size_t align_up(std::size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}

std::int64_t next_pow2(std::int64_t n) {
  std::int64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

detail::SqKernelConfig make_config(const SqOptions& options) {
  detail::SqKernelConfig config{};
  switch (options.quantizer) {
    case Quantizer::bwn:
      config.quant = detail::QuantKind::bwn;
      config.threshold = detail::ThresholdMode::none;
      break;
    case Quantizer::twn:
      config.quant = detail::QuantKind::ternary;
      config.threshold = detail::ThresholdMode::layer_abs;
      break;
    case Quantizer::twn_caffe:
      config.quant = detail::QuantKind::ternary;
      config.threshold = detail::ThresholdMode::layer_deviation;
      break;
    case Quantizer::twn_channel:
      config.quant = detail::QuantKind::ternary;
      config.threshold = detail::ThresholdMode::row_abs;
      break;
    case Quantizer::kbit:
      config.quant = detail::QuantKind::kbit;
      config.threshold = detail::ThresholdMode::none;
      break;
  }
  config.levels = options.quantizer == Quantizer::kbit ? detail::kbit_levels(options.bits) : 0;
  config.probability = static_cast<detail::ProbKind>(static_cast<int>(options.probability));
  config.sampler = static_cast<detail::SelectKind>(static_cast<int>(options.sampler));
  config.element = options.granularity == Granularity::element;
  config.seed = options.seed;
  return config;
}

// Two threads pay off from about 10^5 weights (a fork-join costs some microseconds); split where the two
// halves' weights are closest.
int parallel_split(const std::vector<detail::SqLayerDesc>& layers) {
  constexpr std::int64_t kMinWeights = std::int64_t{1} << 17;
  std::int64_t total = 0;
  for (const auto& d : layers) total += d.rows * d.cols;
  if (layers.size() < 2 || total < kMinWeights) return 0;
  int best = 0;
  std::int64_t prefix = 0, best_cost = total;
  for (std::size_t l = 0; l + 1 < layers.size(); ++l) {
    prefix += layers[l].rows * layers[l].cols;
    const std::int64_t cost = std::max(prefix, total - prefix);
    if (cost < best_cost) {
      best_cost = cost;
      best = static_cast<int>(l + 1);
    }
  }
  return best;
}

}  // namespace

SqPlan make_plan(const std::vector<SqSegment>& segments, const SqOptions& options) {
  validate(options);
  SQ_CHECK(segments.size() < detail::kSqMaxLayers,
           "SQ pipeline takes at most " << detail::kSqMaxLayers - 1 << " layers, got " << segments.size());
  SqPlan plan;
  plan.config = make_config(options);
  plan.separate_row_sums = plan.config.threshold == detail::ThresholdMode::layer_abs ||
                           plan.config.threshold == detail::ThresholdMode::layer_deviation;
  plan.deviation_pass = plan.config.threshold == detail::ThresholdMode::layer_deviation;
  const bool needs_tree = options.sampler == Sampler::roulette || options.sampler == Sampler::caffe;
  for (std::size_t l = 0; l < segments.size(); ++l) {
    const SqSegment& s = segments[l];
    SQ_CHECK(s.offset >= 0 && s.rows > 0 && s.cols > 0, "SQ segment "
                                                            << l << " needs offset >= 0 and rows, cols > 0; got offset "
                                                            << s.offset << ", rows " << s.rows << ", cols " << s.cols);
    detail::SqLayerDesc d{};
    d.offset = s.offset;
    d.rows = s.rows;
    d.cols = s.cols;
    d.units = plan.config.element ? s.rows * s.cols : s.rows;
    SQ_CHECK(d.units < (std::int64_t{1} << 31),
             "SQ segment " << l << " has " << d.units << " units; at most 2^31 - 1 per layer are supported");
    d.row_begin = plan.total_rows;
    d.unit_begin = plan.total_units;
    d.tree_leaves = needs_tree ? next_pow2(d.units) : 0;
    d.tree_begin = plan.total_tree;
    plan.total_rows += d.rows;
    plan.total_units += d.units;
    plan.total_tree += 2 * d.tree_leaves;
    plan.layers.push_back(d);
  }
  std::vector<SqSegment> sorted = segments;
  std::sort(sorted.begin(), sorted.end(), [](const SqSegment& a, const SqSegment& b) { return a.offset < b.offset; });
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    SQ_CHECK(sorted[i - 1].offset + sorted[i - 1].rows * sorted[i - 1].cols <= sorted[i].offset,
             "SQ segments overlap: the one at offset " << sorted[i - 1].offset << " runs into the one at offset "
                                                       << sorted[i].offset);
  }
  set_plan_ratio(plan, options.ratio);
  plan.parallel_split = parallel_split(plan.layers);

  const auto rows = static_cast<std::size_t>(plan.total_rows), units = static_cast<std::size_t>(plan.total_units);
  const std::size_t layers = plan.layers.size();
  std::size_t at = 0;
  const auto take = [&](std::size_t bytes) {
    const std::size_t here = at;
    at = align_up(at + bytes);
    return here;
  };
  plan.at_layers = take(layers * sizeof(detail::SqLayerDesc));
  plan.at_rows = take(6 * rows * sizeof(double));
  plan.at_error = take(units * sizeof(double));
  plan.at_key = take(units * sizeof(std::uint64_t));
  plan.at_mask = take(units);
  plan.at_tree = take(static_cast<std::size_t>(plan.total_tree) * sizeof(double));
  plan.at_stats = take(layers * detail::kStatSlots * sizeof(double));
  plan.at_frozen = take(layers * sizeof(std::uint32_t));
  plan.at_nonfinite = take(sizeof(std::uint32_t));
  plan.bytes = at;
  return plan;
}

void set_plan_ratio(SqPlan& plan, double ratio) {
  for (detail::SqLayerDesc& d : plan.layers) d.n_q = quantized_count(ratio, d.units);
}

detail::SqWorkspaceView carve_workspace(const SqPlan& plan, void* base) {
  auto* bytes = static_cast<unsigned char*>(base);
  detail::SqWorkspaceView ws{};
  ws.layers = reinterpret_cast<const detail::SqLayerDesc*>(bytes + plan.at_layers);
  ws.layer_count = static_cast<int>(plan.layers.size());
  ws.total_rows = plan.total_rows;
  ws.total_units = plan.total_units;
  auto* rows = reinterpret_cast<double*>(bytes + plan.at_rows);
  ws.row_sum_abs = rows;
  ws.row_sum = rows + plan.total_rows;
  ws.row_max_abs = rows + 2 * plan.total_rows;
  ws.row_deviation = rows + 3 * plan.total_rows;
  ws.row_scale = rows + 4 * plan.total_rows;
  ws.row_threshold = rows + 5 * plan.total_rows;
  ws.unit_error = reinterpret_cast<double*>(bytes + plan.at_error);
  ws.unit_key = reinterpret_cast<std::uint64_t*>(bytes + plan.at_key);
  ws.mask = bytes + plan.at_mask;
  ws.tree = reinterpret_cast<double*>(bytes + plan.at_tree);
  ws.layer_stats = reinterpret_cast<double*>(bytes + plan.at_stats);
  ws.frozen_redraw = reinterpret_cast<std::uint32_t*>(bytes + plan.at_frozen);
  ws.nonfinite = reinterpret_cast<std::uint32_t*>(bytes + plan.at_nonfinite);
  return ws;
}

int launches_per_step(const SqPlan& plan) {
  if (plan.layers.empty()) return 0;
  return (plan.separate_row_sums ? 1 : 0) + (plan.deviation_pass ? 1 : 0) + 3;
}

}  // namespace sq::quant
