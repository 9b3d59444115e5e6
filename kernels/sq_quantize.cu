// SQ quantize stage for ALL layers in one launch each (one 256-thread block per row, grid-stride over rows):
// row sums (sum|W|, sum W, max|W|, NaN/Inf flag); the twn-caffe deviation pass; and per row the threshold D,
// the scale (a_i or s_i) and the error e_i (or e_ij for element granularity). Sums in double, canonical order.
#include "launch.cuh"
#include "sq/core/cuda_check.hpp"
#include "sq/detail/sq_row.hpp"
#include "sq_block.cuh"
#include "sq_quantize.cuh"

namespace sq::cuda {
namespace {

// kernels

struct RowRef {
  const detail::SqLayerDesc* layer;
  std::int64_t r;
  const float* w;
};

__device__ inline RowRef row_ref(const detail::SqWorkspaceView& ws, const float* weights, std::int64_t row) {
  const detail::SqLayerDesc* layer = ws.layers + detail::find_layer(ws.layers, ws.layer_count, row);
  const std::int64_t r = row - layer->row_begin;
  return {layer, r, weights + layer->offset + r * layer->cols};
}

// sum|W|, max|W| (and sum W when wanted) of one row; flags NaN/Inf. All threads get the results.
__device__ inline void row_sums(const detail::SqWorkspaceView& ws, const float* w, std::int64_t cols, std::int64_t row,
                                bool with_sum, double* shared, double* sum_abs, double* sum, double* max_abs) {
  double acc_abs = 0.0, acc = 0.0, acc_max = 0.0;
  bool finite = true;
  for (std::int64_t j = threadIdx.x; j < cols; j += kSqBlock) {
    const float x = w[j];
    finite = finite && detail::is_finite(x);
    const double a = detail::abs_f(x);
    acc_abs += a;
    acc += static_cast<double>(x);
    acc_max = a > acc_max ? a : acc_max;
  }
  if (!finite) atomicMin(ws.nonfinite, static_cast<std::uint32_t>(row));
  *sum_abs = block_canonical_sum(acc_abs, shared);
  *sum = with_sum ? block_canonical_sum(acc, shared) : 0.0;
  *max_abs = block_max(acc_max, shared);
}

// Canonical sum over the rows of a layer of a per-row array.
__device__ inline double layer_sum(const double* per_row, const detail::SqLayerDesc& layer, double* shared) {
  double acc = 0.0;
  for (std::int64_t k = threadIdx.x; k < layer.rows; k += kSqBlock) acc += per_row[layer.row_begin + k];
  return block_canonical_sum(acc, shared);
}

__global__ void __launch_bounds__(kSqBlock)
    row_sums_kernel(detail::SqWorkspaceView ws, const float* weights, bool with_signed_sum) {
  __shared__ double shared[kSqBlock];
  for (std::int64_t row = blockIdx.x; row < ws.total_rows; row += gridDim.x) {
    const RowRef ref = row_ref(ws, weights, row);
    double sum_abs, sum, max_abs;
    row_sums(ws, ref.w, ref.layer->cols, row, with_signed_sum, shared, &sum_abs, &sum, &max_abs);
    if (threadIdx.x == 0) {
      ws.row_sum_abs[row] = sum_abs;
      ws.row_sum[row] = sum;
      ws.row_max_abs[row] = max_abs;
    }
  }
}

__global__ void __launch_bounds__(kSqBlock) row_deviation_kernel(detail::SqWorkspaceView ws, const float* weights) {
  __shared__ double shared[kSqBlock];
  for (std::int64_t row = blockIdx.x; row < ws.total_rows; row += gridDim.x) {
    const RowRef ref = row_ref(ws, weights, row);
    const detail::SqLayerDesc& layer = *ref.layer;
    const double mean = layer_sum(ws.row_sum, layer, shared) / static_cast<double>(layer.rows * layer.cols);
    double acc = 0.0;
    for (std::int64_t j = threadIdx.x; j < layer.cols; j += kSqBlock) {
      acc += detail::abs_d(static_cast<double>(ref.w[j]) - mean);
    }
    const double deviation = block_canonical_sum(acc, shared);
    if (threadIdx.x == 0) ws.row_deviation[row] = deviation;
  }
}

__global__ void __launch_bounds__(kSqBlock) row_quantize_kernel(detail::SqWorkspaceView ws, const float* weights,
                                                                detail::SqKernelConfig config, bool row_sums_ready) {
  __shared__ double shared[kSqBlock];
  for (std::int64_t row = blockIdx.x; row < ws.total_rows; row += gridDim.x) {
    const RowRef ref = row_ref(ws, weights, row);
    const detail::SqLayerDesc& layer = *ref.layer;
    const std::int64_t n = layer.cols;
    const float* w = ref.w;
    double sum_abs, max_abs, unused;
    if (row_sums_ready) {
      sum_abs = ws.row_sum_abs[row];
      max_abs = ws.row_max_abs[row];
    } else {
      row_sums(ws, w, n, row, false, shared, &sum_abs, &unused, &max_abs);
    }
    double threshold = 0.0;
    if (config.threshold == detail::ThresholdMode::layer_abs) {
      threshold = detail::twn_threshold(layer_sum(ws.row_sum_abs, layer, shared), layer.rows * layer.cols);
    } else if (config.threshold == detail::ThresholdMode::layer_deviation) {
      threshold = detail::twn_threshold(layer_sum(ws.row_deviation, layer, shared), layer.rows * layer.cols);
    } else if (config.threshold == detail::ThresholdMode::row_abs) {
      threshold = detail::twn_threshold(sum_abs, n);
    }
    double above_sum = 0.0, above_count = 0.0;
    if (config.quant == detail::QuantKind::ternary) {
      double acc_sum = 0.0, acc_count = 0.0;
      for (std::int64_t j = threadIdx.x; j < n; j += kSqBlock) {
        const double a = detail::abs_f(w[j]);
        acc_sum += a > threshold ? a : 0.0;
        acc_count += a > threshold ? 1.0 : 0.0;
      }
      above_sum = block_canonical_sum(acc_sum, shared);
      above_count = block_canonical_sum(acc_count, shared);
    }
    const double scale = detail::row_scale(config.quant, sum_abs, n, above_sum, above_count, max_abs, config.levels);
    if (config.element) {
      double* e = ws.unit_error + layer.unit_begin + ref.r * n;
      for (std::int64_t j = threadIdx.x; j < n; j += kSqBlock) {
        e[j] = detail::element_error(w[j], detail::quantize_value(config.quant, w[j], scale, threshold, config.levels));
      }
    } else {
      double acc = 0.0;
      for (std::int64_t j = threadIdx.x; j < n; j += kSqBlock) {
        const float q = detail::quantize_value(config.quant, w[j], scale, threshold, config.levels);
        acc += detail::abs_d(static_cast<double>(w[j]) - static_cast<double>(q));
      }
      const double error_sum = block_canonical_sum(acc, shared);
      if (threadIdx.x == 0) ws.unit_error[layer.unit_begin + ref.r] = detail::row_error(error_sum, sum_abs);
    }
    if (threadIdx.x == 0) {
      ws.row_scale[row] = scale;
      ws.row_threshold[row] = threshold;
      if (!row_sums_ready) {
        ws.row_sum_abs[row] = sum_abs;
        ws.row_max_abs[row] = max_abs;
      }
    }
  }
}

}  // namespace

// launchers

void sq_row_sums(const detail::SqWorkspaceView& ws, const float* weights, bool with_signed_sum, cudaStream_t stream) {
  if (ws.total_rows == 0) return;
  SQ_LAUNCH(row_sums_kernel, row_grid(ws.total_rows), kSqBlock, 0, stream, ws, weights, with_signed_sum);
  SQ_CUDA_CHECK_LAUNCH();
}

void sq_row_deviation(const detail::SqWorkspaceView& ws, const float* weights, cudaStream_t stream) {
  if (ws.total_rows == 0) return;
  SQ_LAUNCH(row_deviation_kernel, row_grid(ws.total_rows), kSqBlock, 0, stream, ws, weights);
  SQ_CUDA_CHECK_LAUNCH();
}

void sq_row_quantize(const detail::SqWorkspaceView& ws, const float* weights, const detail::SqKernelConfig& config,
                     bool row_sums_ready, cudaStream_t stream) {
  if (ws.total_rows == 0) return;
  SQ_LAUNCH(row_quantize_kernel, row_grid(ws.total_rows), kSqBlock, 0, stream, ws, weights, config, row_sums_ready);
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace sq::cuda
