// Launchers of kernels/sq_quantize.cu (host twins: src/cpu/sq_quantize.hpp, same names in sq::cpu).
#pragma once

#include <cuda_runtime.h>

#include "sq/detail/sq_layout.hpp"

namespace sq::cuda {

void sq_row_sums(const detail::SqWorkspaceView& ws, const float* weights, bool with_signed_sum, cudaStream_t stream);
void sq_row_deviation(const detail::SqWorkspaceView& ws, const float* weights, cudaStream_t stream);
void sq_row_quantize(const detail::SqWorkspaceView& ws, const float* weights, const detail::SqKernelConfig& config,
                     bool row_sums_ready, cudaStream_t stream);

}  // namespace sq::cuda
