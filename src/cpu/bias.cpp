// Host twins of kernels/bias.cu. Reductions accumulate in double: the twin is the reference the GPU is held to.
#include "cpu/bias.hpp"

#include "cpu/parallel.hpp"

namespace sq::cpu {

void bias_add(float* y, const float* bias, std::int64_t outer, std::int64_t channels, std::int64_t inner) {
  parallel_for(outer * channels, outer * channels * inner, [&](std::int64_t plane) {
    float* row = y + plane * inner;
    const float b = bias[plane % channels];
    for (std::int64_t i = 0; i < inner; ++i) row[i] += b;
  });
}

void bias_grad(float* dbias, const float* dy, std::int64_t outer, std::int64_t channels, std::int64_t inner) {
  // Channel by channel, so no scratch is needed; each channel still adds its rows' sums in the order o = 0, 1, ...
  parallel_for(channels, outer * channels * inner, [&](std::int64_t c) {
    double sum = 0.0;
    for (std::int64_t o = 0; o < outer; ++o) {
      const float* row = dy + (o * channels + c) * inner;
      double s = 0.0;
      for (std::int64_t i = 0; i < inner; ++i) s += row[i];
      sum += s;
    }
    dbias[c] = static_cast<float>(sum);
  });
}

}  // namespace sq::cpu
