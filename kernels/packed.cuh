// Launchers of kernels/packed.cu (host twins: src/cpu/packed.hpp): inference from packed low-bit weights
// (docs/DEPLOY.md). The weights stay packed in device memory; each block expands the rows of its tile into shared
// memory. Formulas: sq/detail/packed_math.hpp.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "sq/detail/packed_math.hpp"

namespace sq::gpu {

// Convolution as an implicit GEMM: y [N, w.rows, out_h, out_w] = scale_o * sum_k factor(o, k) * im2col(x)[k, p]
// + bias_o, x [N, C, H, W], k = (c, kh, kw) < w.cols = C * kernel^2. bias may be null.
void packed_conv_forward(float* y, const sq::detail::PackedGemmWeight& w, const float* bias, const float* x,
                         const sq::detail::ConvGeometry& geometry, cudaStream_t stream);
// Fully connected: y [batch, w.rows] = scale_o * sum_k factor(o, k) * x [batch, w.cols] + bias_o.
void packed_linear_forward(float* y, const sq::detail::PackedGemmWeight& w, const float* bias, const float* x,
                           std::int64_t batch, cudaStream_t stream);
// Inference BatchNorm: y = x * scale_c + shift_c over [outer, channels, inner] (y may be x).
void channel_affine(float* y, const float* x, const float* scale, const float* shift, std::int64_t outer,
                    std::int64_t channels, std::int64_t inner, cudaStream_t stream);

}  // namespace sq::gpu
