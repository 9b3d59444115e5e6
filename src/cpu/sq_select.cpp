// Host twin of kernels/sq_select.cu. Sums use the canonical order and keys the shared formulas, so the mask
// equals the GPU's; the top-N_q set is found with nth_element under the same total order (key desc, index asc).
#include "sq/detail/host_fp.hpp"  // first: no FMA contraction (results must match the kernels)

#include "cpu/sq_select.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

#include "sq/detail/sq_reduce.hpp"
#include "sq/detail/sq_roulette.hpp"
#include "sq/detail/sq_select.hpp"

namespace sq::cpu {
namespace {

using detail::canonical_sum;

void select_by_keys(const detail::SqLayerDesc& layer, const std::uint64_t* keys, std::uint8_t* mask) {
  // Scratch reused across steps (grows once): no allocation in a steady-state step.
  thread_local std::vector<std::int64_t> order;
  order.resize(static_cast<std::size_t>(layer.units));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  const auto before = [&](std::int64_t a, std::int64_t b) { return keys[a] != keys[b] ? keys[a] > keys[b] : a < b; };
  std::nth_element(order.begin(), order.begin() + layer.n_q, order.end(), before);
  std::fill(mask, mask + layer.units, std::uint8_t{0});
  for (std::int64_t k = 0; k < layer.n_q; ++k) mask[order[static_cast<std::size_t>(k)]] = 1;
}

void select_by_roulette(const detail::SqWorkspaceView& ws, const detail::SqLayerDesc& layer, const double* weights,
                        std::int64_t count, std::uint8_t chosen_value, std::uint64_t seed, std::uint64_t subsequence) {
  double* tree = ws.tree + layer.tree_begin;
  const std::int64_t leaves = layer.tree_leaves;
  for (std::int64_t i = 0; i < leaves; ++i) tree[leaves + i] = i < layer.units ? weights[i] : 0.0;
  for (std::int64_t level = leaves / 2; level >= 1; level /= 2) {
    for (std::int64_t node = level; node < 2 * level; ++node) tree[node] = tree[2 * node] + tree[2 * node + 1];
  }
  std::uint8_t* mask = ws.mask + layer.unit_begin;
  std::fill(mask, mask + layer.units, static_cast<std::uint8_t>(1 - chosen_value));
  detail::roulette_select(tree, leaves, layer.units, count, seed, subsequence, mask, chosen_value);
}

void write_stats(const detail::SqWorkspaceView& ws, int l) {
  const detail::SqLayerDesc& layer = ws.layers[l];
  const double* e = ws.unit_error + layer.unit_begin;
  const std::uint8_t* mask = ws.mask + layer.unit_begin;
  double* stats = ws.layer_stats + l * detail::kStatSlots;
  stats[detail::kStatQuantized] = canonical_sum(layer.units, [&](std::int64_t i) { return mask[i] ? 1.0 : 0.0; });
  stats[detail::kStatErrorSum] = canonical_sum(layer.units, [&](std::int64_t i) { return e[i]; });
  stats[detail::kStatErrorSumQuantized] =
      canonical_sum(layer.units, [&](std::int64_t i) { return mask[i] ? e[i] : 0.0; });
  stats[detail::kStatErrorSumFp] = canonical_sum(layer.units, [&](std::int64_t i) { return mask[i] ? 0.0 : e[i]; });
}

void select_layer(const detail::SqWorkspaceView& ws, const detail::SqKernelConfig& config, std::uint64_t step, int l) {
  const detail::SqLayerDesc& layer = ws.layers[l];
  const std::int64_t n = layer.units;
  const double* e = ws.unit_error + layer.unit_begin;
  std::uint8_t* mask = ws.mask + layer.unit_begin;
  if (layer.n_q <= 0 || layer.n_q >= n) {
    std::fill(mask, mask + n, static_cast<std::uint8_t>(layer.n_q > 0 ? 1 : 0));
    return;
  }
  const std::uint64_t subsequence = detail::select_subsequence(config, layer, step, l);
  thread_local std::vector<double> p;  // reused across steps (grows once)
  p.assign(static_cast<std::size_t>(n), 0.0);
  if (detail::uses_probability(config.sampler)) sq_probabilities(p.data(), e, n, config.probability);
  if (detail::uses_keys(config.sampler)) {
    std::uint64_t* keys = ws.unit_key + layer.unit_begin;
    for (std::int64_t i = 0; i < n; ++i)
      keys[i] = detail::unit_key(config, subsequence, i, e[i], p[static_cast<std::size_t>(i)]);
    select_by_keys(layer, keys, mask);
  } else if (config.sampler == detail::SelectKind::roulette) {
    select_by_roulette(ws, layer, p.data(), layer.n_q, 1, config.seed, subsequence);
  } else {  // caffe: roulette with p proportional to e picks the N_fp full-precision units
    select_by_roulette(ws, layer, e, n - layer.n_q, 0, config.seed, subsequence);
  }
}

}  // namespace

void sq_probabilities(double* p, const double* errors, std::int64_t n, detail::ProbKind kind) {
  double f_max = 0.0;
  for (std::int64_t i = 0; i < n; ++i) f_max = std::max(f_max, detail::error_to_f(errors[i]));
  for (std::int64_t i = 0; i < n; ++i) p[i] = detail::probability_weight(kind, detail::error_to_f(errors[i]), f_max);
  const double total = canonical_sum(n, [&](std::int64_t i) { return p[i]; });
  for (std::int64_t i = 0; i < n; ++i) p[i] = p[i] / total;
}

void sq_select(const detail::SqWorkspaceView& ws, const detail::SqKernelConfig& config, std::uint64_t step) {
  sq_select_layers(ws, config, step, 0, ws.layer_count);
}

void sq_select_layers(const detail::SqWorkspaceView& ws, const detail::SqKernelConfig& config, std::uint64_t step,
                      int layer_begin, int layer_end) {
  for (int l = layer_begin; l < layer_end; ++l) {
    const bool keep = config.sampler == detail::SelectKind::frozen && ws.frozen_redraw[l] == 0;
    if (!keep) select_layer(ws, config, step, l);
    ws.frozen_redraw[l] = 0;
    write_stats(ws, l);
  }
}

}  // namespace sq::cpu
