// The raw-pointer entry point for outside code (docs/SQ_API.md): one SQ step over layers laid out in one buffer.
#pragma once

#include <cstdint>

#include "sq/core/device.hpp"
#include "sq/core/stream.hpp"
#include "sq/quant/options.hpp"

namespace sq::quant {

// One stochastic-quantization step over `segment_count` layers of `weights` (all pointers on `device`):
// writes hybrid (same layout as weights), and when non-null mask (one byte per unit, 1 = quantized) and
// errors (e per unit) for `step`. Results equal SqPipeline::run for the same segments, options and step.
// Allocates a workspace and synchronises `stream` before returning (NaN/Inf weights throw sq::Error on both
// devices); inside a training loop build an SqPipeline once instead.
void stochastic_quantize(float* hybrid, std::uint8_t* mask, double* errors, const float* weights,
                         const SqSegment* segments, int segment_count, const SqOptions& options, std::uint64_t step,
                         Device device, StreamHandle stream = nullptr);

// Units (mask / errors length) for these segments: rows, or weights for element granularity.
std::int64_t unit_count(const SqSegment* segments, int segment_count, Granularity granularity);

}  // namespace sq::quant
