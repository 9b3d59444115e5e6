// Host twin of kernels/sq_hybrid.cu: Q recomputed from the row's scale and threshold (sq/detail/sq_math.hpp);
// full-precision rows are plain copies.

#include "sq/detail/host_fp.hpp"  // first: no FMA contraction, vectorisable comparisons

#include "cpu/sq_hybrid.hpp"
#include "cpu/sq_quantize.hpp"

#include <cstring>

namespace sq::cpu {
namespace {

template <detail::QuantKind kKind>
void hybrid_rows(float* hybrid, const detail::SqWorkspaceView& ws, const float* weights,
                 const detail::SqKernelConfig& config, bool quantize_all) {
  for (int l = 0; l < ws.layer_count; ++l) {
    const detail::SqLayerDesc& layer = ws.layers[l];
    const std::int64_t n = layer.cols;
    for (std::int64_t r = 0; r < layer.rows; ++r) {
      const std::int64_t row = layer.row_begin + r;
      const double scale = ws.row_scale[row], threshold = ws.row_threshold[row];
      const float* w = weights + layer.offset + r * n;
      float* out = hybrid + layer.offset + r * n;
      const int levels = config.levels;
      if (config.element && !quantize_all) {
        const std::uint8_t* mask = ws.mask + layer.unit_begin + r * n;
        for (std::int64_t j = 0; j < n; ++j) {
          out[j] = mask[j] ? detail::quantize_value(kKind, w[j], scale, threshold, levels) : w[j];
        }
      } else if (quantize_all || ws.mask[layer.unit_begin + r]) {
        sq_quantize_row_values(out, w, n, config.quant, scale, threshold, levels);
      } else {
        std::memcpy(out, w, static_cast<std::size_t>(n) * sizeof(float));
      }
    }
  }
}

}  // namespace

void sq_hybrid(float* hybrid, const detail::SqWorkspaceView& ws, const float* weights,
               const detail::SqKernelConfig& config, bool quantize_all) {
  switch (config.quant) {
    case detail::QuantKind::bwn: hybrid_rows<detail::QuantKind::bwn>(hybrid, ws, weights, config, quantize_all); break;
    case detail::QuantKind::ternary:
      hybrid_rows<detail::QuantKind::ternary>(hybrid, ws, weights, config, quantize_all);
      break;
    case detail::QuantKind::kbit:
      hybrid_rows<detail::QuantKind::kbit>(hybrid, ws, weights, config, quantize_all);
      break;
  }
}

}  // namespace sq::cpu
