// im2col / col2im for the CPU convolution (im2col + OpenBLAS sgemm). The GPU path uses cuDNN instead.
#pragma once

#include <cstdint>

namespace sq::cpu {

// One image [channels, h, w] -> columns [channels * kernel * kernel, out_h * out_w] (zero padding), rows col_ld
// apart (col_ld >= out_h * out_w: several images side by side make one wide matrix).
void im2col(float* col, std::int64_t col_ld, const float* image, int channels, int h, int w, int kernel, int stride,
            int pad, int out_h, int out_w);
// The adjoint: image = sum of the columns' contributions (overwrites image).
void col2im(float* image, const float* col, std::int64_t col_ld, int channels, int h, int w, int kernel, int stride,
            int pad, int out_h, int out_w);

}  // namespace sq::cpu
