// Host twin of kernels/sq_hybrid.cu: hybrid weights W~ (quantized rows/elements where the mask says so).
#pragma once

#include "sq/detail/sq_layout.hpp"

namespace sq::cpu {

// hybrid[offset + i * cols + j] = Q_ij where the unit is selected (or everywhere when quantize_all), else W_ij.
void sq_hybrid(float* hybrid, const detail::SqWorkspaceView& ws, const float* weights,
               const detail::SqKernelConfig& config, bool quantize_all);

}  // namespace sq::cpu
