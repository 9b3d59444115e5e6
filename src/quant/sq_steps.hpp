// The stage sequence of one SQ step on each device (row sums, deviation, quantize, select, hybrid) and the
// workspace copies the pipeline needs; CUDA parts live in sq_steps_cuda.cpp (CUDA builds only).
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/sq_plan.hpp"
#include "sq/core/device.hpp"
#include "sq/core/stream.hpp"

namespace sq::quant {

// One step on the host; throws sq::Error naming layer and row on a NaN/Inf weight.
void run_step_cpu(const SqPlan& plan, const detail::SqWorkspaceView& ws, const float* weights, float* hybrid,
                  std::uint64_t step, bool quantize_all);

// One step on the GPU: launches only, no sync, no allocation.
void run_step_cuda(const SqPlan& plan, const detail::SqWorkspaceView& ws, const float* weights, float* hybrid,
                   std::uint64_t step, const std::uint64_t* device_step, bool quantize_all, StreamHandle stream);

// Copies between the host and a workspace on `device` (synchronous on `stream`).
void copy_to_device(Device device, void* dst, const void* src, std::size_t bytes, StreamHandle stream);
void copy_to_host(Device device, void* dst, const void* src, std::size_t bytes, StreamHandle stream);

// Throws sq::Error when the nonfinite slot names a row (after resetting it to "none").
void raise_if_nonfinite(const SqPlan& plan, std::uint32_t row);

}  // namespace sq::quant
