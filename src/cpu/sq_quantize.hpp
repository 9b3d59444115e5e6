// Host twins of kernels/sq_quantize.cu (same names, namespace sq::cpu): per-row sums, the twn-caffe deviation
// pass, and per-row scale + threshold + quantization error, for all layers of a workspace at once.
#pragma once

#include "sq/detail/sq_layout.hpp"

namespace sq::cpu {

// row_sum_abs (and row_sum when `with_signed_sum`, for twn-caffe) for every row; records the lowest row holding
// a NaN or Inf weight in *nonfinite. (max |W| is needed by kbit only, whose sums are fused into sq_row_quantize.)
void sq_row_sums(const detail::SqWorkspaceView& ws, const float* weights, bool with_signed_sum);
// row_deviation = sum_j |W_ij - mean(W of the layer)| for every row (twn-caffe); needs sq_row_sums.
void sq_row_deviation(const detail::SqWorkspaceView& ws, const float* weights);
// row_scale, row_threshold and unit_error for every row (or element); computes the row sums itself unless
// `row_sums_ready` (layer-wide thresholds need them for all rows first; max |W| only for kbit then).
void sq_row_quantize(const detail::SqWorkspaceView& ws, const float* weights, const detail::SqKernelConfig& config,
                     bool row_sums_ready);

// out[j] = quantize_value(kind, w[j], scale, threshold, levels) for j < n (the hybrid's quantized rows).
void sq_quantize_row_values(float* out, const float* w, std::int64_t n, detail::QuantKind kind, double scale,
                            double threshold, int levels);

// Whether the AVX2 build of the row loops runs (CPU has AVX2 and SQ_CPU_NO_AVX2 is unset); tests switch it to check
// both builds give identical results. Not thread-safe: set before running pipelines.
bool sq_quantize_uses_avx2();
void sq_quantize_allow_avx2(bool allow);

}  // namespace sq::cpu
