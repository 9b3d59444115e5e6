// Host twins of kernels/packed.cu (inference from packed low-bit weights, docs/DEPLOY.md): the same formulas
// (sq/detail/packed_math.hpp), each output's sum over k in ascending order, so they equal the kernels bit for bit.
// Reference code for the emulated and GPU tests; the CPU inference path is src/deploy/packed_kernels*.
#pragma once

#include <cstdint>

#include "sq/detail/packed_math.hpp"

namespace sq::cpu {

void packed_conv_forward(float* y, const sq::detail::PackedGemmWeight& w, const float* bias, const float* x,
                         const sq::detail::ConvGeometry& geometry);
void packed_linear_forward(float* y, const sq::detail::PackedGemmWeight& w, const float* bias, const float* x,
                           std::int64_t batch);
void channel_affine(float* y, const float* x, const float* scale, const float* shift, std::int64_t outer,
                    std::int64_t channels, std::int64_t inner);

}  // namespace sq::cpu
