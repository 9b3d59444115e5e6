// Per-unit selection formulas shared by kernels/sq_select.cu and its host twin: the probability of a unit and
// its sortable key for each sampler (SQ_SPEC sections 4 and 5).
#pragma once

#include <cstdint>

#include "sq/detail/host_device.hpp"
#include "sq/detail/sq_layout.hpp"

namespace sq::detail {

// Samplers that rank units by a key (the N_q largest keys are quantized).
SQ_HOST_DEVICE inline bool uses_keys(SelectKind kind) {
  return kind == SelectKind::topk || kind == SelectKind::frozen || kind == SelectKind::sorted;
}
// Samplers that need p (the others use e directly).
SQ_HOST_DEVICE inline bool uses_probability(SelectKind kind) {
  return kind == SelectKind::topk || kind == SelectKind::frozen || kind == SelectKind::roulette;
}

// The subsequence a layer's draw uses this step (frozen: the stage's, SqLayerDesc::stage).
SQ_HOST_DEVICE inline std::uint64_t select_subsequence(const SqKernelConfig& config, const SqLayerDesc& desc,
                                                       std::uint64_t step, int layer) {
  const std::uint32_t l = static_cast<std::uint32_t>(layer);
  return config.sampler == SelectKind::frozen ? sq_frozen_subsequence(desc.stage, l) : sq_subsequence(step, l);
}

// Key of unit i: topk / frozen log(u_i) / p_i; sorted -e_i (smallest error first, ties to the lower index).
SQ_HOST_DEVICE inline std::uint64_t unit_key(const SqKernelConfig& config, std::uint64_t subsequence, std::int64_t i,
                                             double error, double p) {
  if (config.sampler == SelectKind::sorted) return sortable_key(-error);
  const float u = sq_uniform(config.seed, subsequence, static_cast<std::uint64_t>(i));
  return sortable_key(topk_key(u, p));
}

}  // namespace sq::detail
