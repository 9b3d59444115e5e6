// Host twins of kernels/activation.cu (same names and arithmetic).
#include "cpu/activation.hpp"

#include "cpu/parallel.hpp"

namespace sq::cpu {

constexpr std::int64_t kBlock = 1 << 14;  // elements per parallel block

void relu_forward(float* y, const float* x, std::int64_t n) {
  parallel_blocks(n, kBlock, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
  });
}

void relu_backward(float* dx, const float* dy, const float* y, std::int64_t n) {
  parallel_blocks(n, kBlock, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
  });
}

void add(float* out, const float* a, const float* b, std::int64_t n) {
  parallel_blocks(n, kBlock, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) out[i] = a[i] + b[i];
  });
}

}  // namespace sq::cpu
