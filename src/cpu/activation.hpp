// Host twins of kernels/activation.cu: ReLU and the residual add, element by element.
#pragma once

#include <cstdint>

namespace sq::cpu {

void relu_forward(float* y, const float* x, std::int64_t n);
// dx = dy where the forward output y was positive, else 0.
void relu_backward(float* dx, const float* dy, const float* y, std::int64_t n);
// out = a + b (a residual connection; out may alias a or b).
void add(float* out, const float* a, const float* b, std::int64_t n);

}  // namespace sq::cpu
