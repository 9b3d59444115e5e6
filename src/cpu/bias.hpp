// Host twins of kernels/bias.cu: per-channel bias over [outer, channels, inner] tensors ((N,C,H,W) or (N,F)).
#pragma once

#include <cstdint>

namespace sq::cpu {

// y[o, c, i] += bias[c]
void bias_add(float* y, const float* bias, std::int64_t outer, std::int64_t channels, std::int64_t inner);
// dbias[c] = sum over o, i of dy[o, c, i] (overwrites)
void bias_grad(float* dbias, const float* dy, std::int64_t outer, std::int64_t channels, std::int64_t inner);

}  // namespace sq::cpu
