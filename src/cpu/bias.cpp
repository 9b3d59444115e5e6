// Host twins of kernels/bias.cu. Reductions accumulate in double: the twin is the reference the GPU is held to.
#include "cpu/bias.hpp"

#include <vector>

namespace sq::cpu {

void bias_add(float* y, const float* bias, std::int64_t outer, std::int64_t channels, std::int64_t inner) {
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t c = 0; c < channels; ++c) {
      float* row = y + (o * channels + c) * inner;
      for (std::int64_t i = 0; i < inner; ++i) row[i] += bias[c];
    }
  }
}

void bias_grad(float* dbias, const float* dy, std::int64_t outer, std::int64_t channels, std::int64_t inner) {
  std::vector<double> sums(static_cast<std::size_t>(channels), 0.0);
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t c = 0; c < channels; ++c) {
      const float* row = dy + (o * channels + c) * inner;
      double s = 0.0;
      for (std::int64_t i = 0; i < inner; ++i) s += row[i];
      sums[static_cast<std::size_t>(c)] += s;
    }
  }
  for (std::int64_t c = 0; c < channels; ++c) dbias[c] = static_cast<float>(sums[static_cast<std::size_t>(c)]);
}

}  // namespace sq::cpu
