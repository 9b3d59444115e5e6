// Host twins of kernels/pool.cu: max pooling (no padding, argmax saved) and global average pooling.
// `planes` = N * C; each plane is H x W, row-major.
#pragma once

#include <cstdint>

namespace sq::cpu {

void maxpool2d_forward(float* y, std::int32_t* argmax, const float* x, std::int64_t planes, int h, int w, int kernel,
                       int stride, int out_h, int out_w);
// dx[p] = sum of dy over the windows whose maximum was p (fixed window order: bitwise equal to the kernel).
void maxpool2d_backward(float* dx, const float* dy, const std::int32_t* argmax, std::int64_t planes, int h, int w,
                        int kernel, int stride, int out_h, int out_w);
void global_avgpool_forward(float* y, const float* x, std::int64_t planes, std::int64_t hw);
void global_avgpool_backward(float* dx, const float* dy, std::int64_t planes, std::int64_t hw);

}  // namespace sq::cpu
