// Launcher of kernels/sq_select.cu (host twin: src/cpu/sq_select.hpp, same name in sq::cpu).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "sq/detail/sq_layout.hpp"

namespace sq::cuda {

// One block per layer; `device_step` (nullable, device memory) overrides `step` when the kernel runs.
void sq_select(const detail::SqWorkspaceView& ws, const detail::SqKernelConfig& config, std::uint64_t step,
               const std::uint64_t* device_step, cudaStream_t stream);

}  // namespace sq::cuda
