// Host twin of kernels/sq_quantize.cu: the same formulas (sq/detail/sq_row.hpp) and the same summation order
// (sq/detail/sq_reduce.hpp), so every row scale, threshold and error equals the GPU's to the bit.
#include "cpu/sq_quantize.hpp"

#include "sq/detail/sq_reduce.hpp"
#include "sq/detail/sq_row.hpp"

namespace sq::cpu {
namespace {

using detail::canonical_sum;

void row_sums_one(const detail::SqWorkspaceView& ws, const float* w, std::int64_t cols, std::int64_t row) {
  double max_abs = 0.0;
  bool finite = true;
  for (std::int64_t j = 0; j < cols; ++j) {
    finite = finite && detail::is_finite(w[j]);
    const double a = detail::abs_f(w[j]);
    max_abs = a > max_abs ? a : max_abs;
  }
  const auto row32 = static_cast<std::uint32_t>(row);
  if (!finite && row32 < *ws.nonfinite) *ws.nonfinite = row32;
  ws.row_sum_abs[row] = canonical_sum(cols, [&](std::int64_t j) { return detail::abs_f(w[j]); });
  ws.row_sum[row] = canonical_sum(cols, [&](std::int64_t j) { return static_cast<double>(w[j]); });
  ws.row_max_abs[row] = max_abs;
}

double layer_threshold(const detail::SqWorkspaceView& ws, const detail::SqLayerDesc& layer,
                       detail::ThresholdMode mode) {
  const double* per_row = mode == detail::ThresholdMode::layer_abs ? ws.row_sum_abs : ws.row_deviation;
  const double sum = canonical_sum(layer.rows, [&](std::int64_t r) { return per_row[layer.row_begin + r]; });
  return detail::twn_threshold(sum, layer.rows * layer.cols);
}

}  // namespace

void sq_row_sums(const detail::SqWorkspaceView& ws, const float* weights) {
  for (int l = 0; l < ws.layer_count; ++l) {
    const detail::SqLayerDesc& layer = ws.layers[l];
    for (std::int64_t r = 0; r < layer.rows; ++r) {
      row_sums_one(ws, weights + layer.offset + r * layer.cols, layer.cols, layer.row_begin + r);
    }
  }
}

void sq_row_deviation(const detail::SqWorkspaceView& ws, const float* weights) {
  for (int l = 0; l < ws.layer_count; ++l) {
    const detail::SqLayerDesc& layer = ws.layers[l];
    const double total = canonical_sum(layer.rows, [&](std::int64_t r) { return ws.row_sum[layer.row_begin + r]; });
    const double mean = total / static_cast<double>(layer.rows * layer.cols);
    for (std::int64_t r = 0; r < layer.rows; ++r) {
      const float* w = weights + layer.offset + r * layer.cols;
      ws.row_deviation[layer.row_begin + r] =
          canonical_sum(layer.cols, [&](std::int64_t j) { return detail::abs_d(static_cast<double>(w[j]) - mean); });
    }
  }
}

void sq_row_quantize(const detail::SqWorkspaceView& ws, const float* weights, const detail::SqKernelConfig& config,
                     bool row_sums_ready) {
  const bool layer_wide = config.threshold == detail::ThresholdMode::layer_abs ||
                          config.threshold == detail::ThresholdMode::layer_deviation;
  for (int l = 0; l < ws.layer_count; ++l) {
    const detail::SqLayerDesc& layer = ws.layers[l];
    const std::int64_t n = layer.cols;
    const double layer_d = layer_wide ? layer_threshold(ws, layer, config.threshold) : 0.0;
    for (std::int64_t r = 0; r < layer.rows; ++r) {
      const std::int64_t row = layer.row_begin + r;
      const float* w = weights + layer.offset + r * n;
      if (!row_sums_ready) row_sums_one(ws, w, n, row);
      const double sum_abs = ws.row_sum_abs[row];
      double threshold = layer_d;
      if (config.threshold == detail::ThresholdMode::row_abs) threshold = detail::twn_threshold(sum_abs, n);
      double above_sum = 0.0, above_count = 0.0;
      if (config.quant == detail::QuantKind::ternary) {
        above_sum = canonical_sum(n, [&](std::int64_t j) {
          const double a = detail::abs_f(w[j]);
          return a > threshold ? a : 0.0;
        });
        above_count = canonical_sum(n, [&](std::int64_t j) { return detail::abs_f(w[j]) > threshold ? 1.0 : 0.0; });
      }
      const double scale =
          detail::row_scale(config.quant, sum_abs, n, above_sum, above_count, ws.row_max_abs[row], config.levels);
      ws.row_scale[row] = scale;
      ws.row_threshold[row] = threshold;
      if (config.element) {
        double* e = ws.unit_error + layer.unit_begin + r * n;
        for (std::int64_t j = 0; j < n; ++j) {
          e[j] =
              detail::element_error(w[j], detail::quantize_value(config.quant, w[j], scale, threshold, config.levels));
        }
      } else {
        const double error_sum = canonical_sum(n, [&](std::int64_t j) {
          const float q = detail::quantize_value(config.quant, w[j], scale, threshold, config.levels);
          return detail::abs_d(static_cast<double>(w[j]) - static_cast<double>(q));
        });
        ws.unit_error[layer.unit_begin + r] = detail::row_error(error_sum, sum_abs);
      }
    }
  }
}

}  // namespace sq::cpu
