// Launcher of kernels/sq_hybrid.cu (host twin: src/cpu/sq_hybrid.hpp, same name in sq::cpu).
#pragma once

#include <cuda_runtime.h>

#include "sq/detail/sq_layout.hpp"

namespace sq::cuda {

void sq_hybrid(float* hybrid, const detail::SqWorkspaceView& ws, const float* weights,
               const detail::SqKernelConfig& config, bool quantize_all, cudaStream_t stream);

}  // namespace sq::cuda
