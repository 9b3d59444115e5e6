// Row-level SQ formulas shared by the quantize kernels and their host twins: thresholds and scales from sums
// that were accumulated in the canonical order (sq_reduce.hpp).
#pragma once

#include <cstdint>

#include "sq/detail/host_device.hpp"
#include "sq/detail/sq_layout.hpp"

namespace sq::detail {

// TWN threshold D = 0.7 * (sum / count) (SQ_SPEC section 3); 0 for an empty set.
SQ_HOST_DEVICE inline double twn_threshold(double sum, std::int64_t count) {
  return count > 0 ? kTwnThresholdFactor * (sum / static_cast<double>(count)) : 0.0;
}

// Scale of a row: bwn a = sum|W| / n; ternary a = mean |W| above D (0 when none is); kbit s = max|W| / L.
SQ_HOST_DEVICE inline double row_scale(QuantKind kind, double sum_abs, std::int64_t cols, double above_sum,
                                       double above_count, double max_abs, int levels) {
  switch (kind) {
    case QuantKind::bwn: return sum_abs / static_cast<double>(cols);
    case QuantKind::ternary: return above_count > 0.0 ? above_sum / above_count : 0.0;
    case QuantKind::kbit: return max_abs / static_cast<double>(levels);
  }
  return 0.0;
}

// e_i = sum|W - Q| / sum|W|, 0 for an all-zero row (SQ_SPEC section 4).
SQ_HOST_DEVICE inline double row_error(double error_sum, double sum_abs) {
  return sum_abs > 0.0 ? error_sum / sum_abs : 0.0;
}

SQ_HOST_DEVICE inline double abs_f(float w) {
  return abs_d(static_cast<double>(w));
}

}  // namespace sq::detail
