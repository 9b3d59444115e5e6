// Host twin of kernels/sq_hybrid.cu: Q recomputed from the row's scale and threshold (sq/detail/sq_math.hpp).
#include "cpu/sq_hybrid.hpp"

namespace sq::cpu {

void sq_hybrid(float* hybrid, const detail::SqWorkspaceView& ws, const float* weights,
               const detail::SqKernelConfig& config, bool quantize_all) {
  for (int l = 0; l < ws.layer_count; ++l) {
    const detail::SqLayerDesc& layer = ws.layers[l];
    for (std::int64_t r = 0; r < layer.rows; ++r) {
      const std::int64_t row = layer.row_begin + r;
      const double scale = ws.row_scale[row], threshold = ws.row_threshold[row];
      const float* w = weights + layer.offset + r * layer.cols;
      float* out = hybrid + layer.offset + r * layer.cols;
      const std::uint8_t* mask = ws.mask + layer.unit_begin + (config.element ? r * layer.cols : r);
      for (std::int64_t j = 0; j < layer.cols; ++j) {
        const bool quantized = quantize_all || mask[config.element ? j : 0];
        out[j] = quantized ? detail::quantize_value(config.quant, w[j], scale, threshold, config.levels) : w[j];
      }
    }
  }
}

}  // namespace sq::cpu
