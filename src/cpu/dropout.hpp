// Host twins of kernels/dropout.cu: inverted dropout with a Philox mask that depends on (seed, layer, step, index)
// only, so the CPU and the GPU drop the same elements.
#pragma once

#include <cstdint>

namespace sq::cpu {

// y = x * scale where kept (mask 1), 0 elsewhere; scale = 1 / (1 - p). The step is *step_ptr when step_ptr is
// non-null (a graph-captured step reads it from memory), else `step`.
void dropout_forward(float* y, std::uint8_t* mask, const float* x, std::int64_t n, float p, float scale,
                     std::uint64_t seed, std::uint64_t layer_id, std::uint64_t step, const std::uint64_t* step_ptr);
void dropout_backward(float* dx, const float* dy, const std::uint8_t* mask, std::int64_t n, float scale);

}  // namespace sq::cpu
