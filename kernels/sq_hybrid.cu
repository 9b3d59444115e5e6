// SQ hybrid weights for ALL layers in one launch (a 256-thread block per row, grid-stride over rows):
// W~_ij = Q_ij (recomputed from the row's scale and threshold) where the unit is quantized, else W_ij.
#include "launch.cuh"
#include "sq/core/cuda_check.hpp"
#include "sq/detail/sq_math.hpp"
#include "sq_block.cuh"
#include "sq_hybrid.cuh"

namespace sq::cuda {
namespace {

// kernels

__global__ void __launch_bounds__(kSqBlock)
    hybrid_kernel(float* hybrid, detail::SqWorkspaceView ws, const float* weights, detail::SqKernelConfig config,
                  bool quantize_all) {
  for (std::int64_t row = blockIdx.x; row < ws.total_rows; row += gridDim.x) {
    const detail::SqLayerDesc& layer = ws.layers[detail::find_layer(ws.layers, ws.layer_count, row)];
    const std::int64_t r = row - layer.row_begin;
    const double scale = ws.row_scale[row], threshold = ws.row_threshold[row];
    const float* w = weights + layer.offset + r * layer.cols;
    float* out = hybrid + layer.offset + r * layer.cols;
    const std::uint8_t* mask = ws.mask + layer.unit_begin + (config.element ? r * layer.cols : r);
    const bool row_quantized = quantize_all || (!config.element && mask[0] != 0);
    for (std::int64_t j = threadIdx.x; j < layer.cols; j += kSqBlock) {
      const bool quantized = row_quantized || (config.element && !quantize_all && mask[j] != 0);
      const float x = w[j];
      out[j] = quantized ? detail::quantize_value(config.quant, x, scale, threshold, config.levels) : x;
    }
  }
}

}  // namespace

// launchers

void sq_hybrid(float* hybrid, const detail::SqWorkspaceView& ws, const float* weights,
               const detail::SqKernelConfig& config, bool quantize_all, cudaStream_t stream) {
  if (ws.total_rows == 0) return;
  SQ_LAUNCH(hybrid_kernel, row_grid(ws.total_rows), kSqBlock, 0, stream, hybrid, ws, weights, config, quantize_all);
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace sq::cuda
