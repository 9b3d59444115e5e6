// Host twin of kernels/sq_select.cu: probabilities, selection of N_q units per layer, mask and statistics.
#pragma once

#include <cstdint>

#include "sq/detail/sq_layout.hpp"

namespace sq::cpu {

// For every layer: p from the unit errors, the sampler's choice of n_q units -> mask (1 = quantized), and the
// layer's statistics. A frozen layer whose frozen_redraw flag is 0 keeps its mask.
// p_i = g(f_i) / sum_k g(f_k) with f = 1 / (e + 1e-7) over one layer's n units (SQ_SPEC section 4).
void sq_probabilities(double* p, const double* errors, std::int64_t n, detail::ProbKind kind);

void sq_select(const detail::SqWorkspaceView& ws, const detail::SqKernelConfig& config, std::uint64_t step);
// The same for layers [layer_begin, layer_end) only (layers are independent: the host step splits them between
// two threads).
void sq_select_layers(const detail::SqWorkspaceView& ws, const detail::SqKernelConfig& config, std::uint64_t step,
                      int layer_begin, int layer_end);

}  // namespace sq::cpu
