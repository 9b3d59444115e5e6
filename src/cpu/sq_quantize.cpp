// Host twin of kernels/sq_quantize.cu: the same formulas (sq/detail/sq_row.hpp) and the same summation order
// (sq/detail/sq_reduce.hpp), so every row scale, threshold and error equals the GPU's to the bit. Rows are
// visited in chunks of 256 (one element per lane) so the inner loops vectorise; the quantizer kind is a template
// parameter so its switch folds away.
// Lets GCC if-convert the comparisons in this file's loops (and so vectorise them); it precedes
// the includes so inline helpers get the same options and still inline. It changes no result: it only
// tells the compiler that floating-point exceptions are not trapped (no reassociation, no contraction).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "cpu/sq_quantize.hpp"

#include <algorithm>
#include <cmath>

#include "sq/detail/sq_reduce.hpp"
#include "sq/detail/sq_row.hpp"

namespace sq::cpu {
namespace {

using detail::canonical_sum;
using detail::CanonicalLanes;
using detail::kSqLanes;

// Calls body(x, l, count) for each chunk of at most 256 elements of a row: x = row + base, lane l = j - base.
template <class Body>
void for_each_chunk(const float* row, std::int64_t n, Body body) {
  for (std::int64_t base = 0; base < n; base += kSqLanes) {
    body(row + base, static_cast<int>(std::min<std::int64_t>(kSqLanes, n - base)));
  }
}

// Sums of one row; the signed sum (twn-caffe) and the maximum (kbit) only when asked for.
template <bool kSigned, bool kMax>
void row_sums_one(const detail::SqWorkspaceView& ws, const float* w, std::int64_t cols, std::int64_t row) {
  CanonicalLanes sum_abs(cols), sum(kSigned ? cols : 0), max_abs(kMax ? cols : 0);
  for_each_chunk(w, cols, [&](const float* x, int count) {
    for (int l = 0; l < count; ++l) {
      const double v = static_cast<double>(x[l]);
      const double a = std::fabs(v);
      sum_abs.lane[l] += a;
      if (kSigned) sum.lane[l] += v;
      if (kMax) max_abs.lane[l] = a > max_abs.lane[l] ? a : max_abs.lane[l];
    }
  });
  double m = 0.0;
  for (int l = 0; l < max_abs.active; ++l) m = max_abs.lane[l] > m ? max_abs.lane[l] : m;
  ws.row_sum_abs[row] = sum_abs.fold();
  ws.row_sum[row] = sum.fold();
  ws.row_max_abs[row] = m;
  // A sum of |float| in double cannot overflow, so it is finite exactly when every weight is.
  const auto row32 = static_cast<std::uint32_t>(row);
  if (!std::isfinite(ws.row_sum_abs[row]) && row32 < *ws.nonfinite) *ws.nonfinite = row32;
}

double layer_threshold(const detail::SqWorkspaceView& ws, const detail::SqLayerDesc& layer,
                       detail::ThresholdMode mode) {
  const double* per_row = mode == detail::ThresholdMode::layer_abs ? ws.row_sum_abs : ws.row_deviation;
  const double sum = canonical_sum(layer.rows, [&](std::int64_t r) { return per_row[layer.row_begin + r]; });
  return detail::twn_threshold(sum, layer.rows * layer.cols);
}

template <detail::QuantKind kKind>
void quantize_row(const detail::SqWorkspaceView& ws, const detail::SqLayerDesc& layer, std::int64_t r, const float* w,
                  const detail::SqKernelConfig& config, double threshold) {
  const std::int64_t n = layer.cols, row = layer.row_begin + r;
  const double sum_abs = ws.row_sum_abs[row];
  double above_sum = 0.0, above_count = 0.0;
  if (kKind == detail::QuantKind::ternary) {
    CanonicalLanes sum(n), count(n);
    for_each_chunk(w, n, [&](const float* x, int c) {
      for (int l = 0; l < c; ++l) {
        // keep * a is a or +0 exactly like the kernel's select, but vectorises (no control flow).
        const double a = std::fabs(static_cast<double>(x[l]));
        const double keep = static_cast<double>(a > threshold);
        sum.lane[l] += keep * a;
        count.lane[l] += keep;
      }
    });
    above_sum = sum.fold();
    above_count = count.fold();
  }
  const double scale = detail::row_scale(kKind, sum_abs, n, above_sum, above_count, ws.row_max_abs[row], config.levels);
  ws.row_scale[row] = scale;
  ws.row_threshold[row] = threshold;
  const int levels = config.levels;
  if (config.element) {
    double* e = ws.unit_error + layer.unit_begin + r * n;
    for (std::int64_t j = 0; j < n; ++j) {
      e[j] = detail::element_error(w[j], detail::quantize_value(kKind, w[j], scale, threshold, levels));
    }
    return;
  }
  CanonicalLanes error(n);
  for_each_chunk(w, n, [&](const float* x, int c) {
    for (int l = 0; l < c; ++l) {
      const float q = detail::quantize_value(kKind, x[l], scale, threshold, levels);
      error.lane[l] += std::fabs(static_cast<double>(x[l]) - static_cast<double>(q));
    }
  });
  ws.unit_error[layer.unit_begin + r] = detail::row_error(error.fold(), sum_abs);
}

template <detail::QuantKind kKind>
void quantize_all_rows(const detail::SqWorkspaceView& ws, const float* weights, const detail::SqKernelConfig& config,
                       bool row_sums_ready) {
  const bool layer_wide = config.threshold == detail::ThresholdMode::layer_abs ||
                          config.threshold == detail::ThresholdMode::layer_deviation;
  for (int l = 0; l < ws.layer_count; ++l) {
    const detail::SqLayerDesc& layer = ws.layers[l];
    const double layer_d = layer_wide ? layer_threshold(ws, layer, config.threshold) : 0.0;
    for (std::int64_t r = 0; r < layer.rows; ++r) {
      const float* w = weights + layer.offset + r * layer.cols;
      if (!row_sums_ready)
        row_sums_one<false, kKind == detail::QuantKind::kbit>(ws, w, layer.cols, layer.row_begin + r);
      const double threshold = config.threshold == detail::ThresholdMode::row_abs
                                   ? detail::twn_threshold(ws.row_sum_abs[layer.row_begin + r], layer.cols)
                                   : layer_d;
      quantize_row<kKind>(ws, layer, r, w, config, threshold);
    }
  }
}

}  // namespace

void sq_row_sums(const detail::SqWorkspaceView& ws, const float* weights, bool with_signed_sum) {
  for (int l = 0; l < ws.layer_count; ++l) {
    const detail::SqLayerDesc& layer = ws.layers[l];
    for (std::int64_t r = 0; r < layer.rows; ++r) {
      const float* w = weights + layer.offset + r * layer.cols;
      if (with_signed_sum) {
        row_sums_one<true, false>(ws, w, layer.cols, layer.row_begin + r);
      } else {
        row_sums_one<false, false>(ws, w, layer.cols, layer.row_begin + r);
      }
    }
  }
}

void sq_row_deviation(const detail::SqWorkspaceView& ws, const float* weights) {
  for (int l = 0; l < ws.layer_count; ++l) {
    const detail::SqLayerDesc& layer = ws.layers[l];
    const double total = canonical_sum(layer.rows, [&](std::int64_t r) { return ws.row_sum[layer.row_begin + r]; });
    const double mean = total / static_cast<double>(layer.rows * layer.cols);
    for (std::int64_t r = 0; r < layer.rows; ++r) {
      CanonicalLanes deviation(layer.cols);
      for_each_chunk(weights + layer.offset + r * layer.cols, layer.cols, [&](const float* x, int c) {
        for (int k = 0; k < c; ++k) deviation.lane[k] += std::fabs(static_cast<double>(x[k]) - mean);
      });
      ws.row_deviation[layer.row_begin + r] = deviation.fold();
    }
  }
}

void sq_row_quantize(const detail::SqWorkspaceView& ws, const float* weights, const detail::SqKernelConfig& config,
                     bool row_sums_ready) {
  switch (config.quant) {
    case detail::QuantKind::bwn: quantize_all_rows<detail::QuantKind::bwn>(ws, weights, config, row_sums_ready); break;
    case detail::QuantKind::ternary:
      quantize_all_rows<detail::QuantKind::ternary>(ws, weights, config, row_sums_ready);
      break;
    case detail::QuantKind::kbit:
      quantize_all_rows<detail::QuantKind::kbit>(ws, weights, config, row_sums_ready);
      break;
  }
}

}  // namespace sq::cpu
