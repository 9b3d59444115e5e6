// Host twin of kernels/loss.cu. The loss sum is kept in double: this is the reference the GPU is held to.
#include "cpu/loss.hpp"

#include <cmath>
#include <limits>

namespace sq::cpu {

void softmax_xent_forward(float* loss, std::int32_t* correct, float* dlogits, const float* logits,
                          const std::int32_t* labels, int rows, int classes) {
  double total = 0.0;
  std::int32_t hits = 0;
  const float inv_rows = 1.f / static_cast<float>(rows);
  for (int r = 0; r < rows; ++r) {
    const float* z = logits + static_cast<std::int64_t>(r) * classes;
    float* g = dlogits + static_cast<std::int64_t>(r) * classes;
    const int label = labels[r];
    int best = 0;
    for (int k = 1; k < classes; ++k) {
      if (z[k] > z[best]) best = k;
    }
    const float zmax = z[best];
    float sum = 0.f;
    for (int k = 0; k < classes; ++k) sum += std::exp(z[k] - zmax);
    const float inv_sum = 1.f / sum;
    const bool valid = label >= 0 && label < classes;
    for (int k = 0; k < classes; ++k) {
      const float prob = std::exp(z[k] - zmax) * inv_sum;
      g[k] = (prob - (k == label ? 1.f : 0.f)) * inv_rows;
    }
    total += valid ? static_cast<double>(std::log(sum) - (z[label] - zmax)) : std::numeric_limits<double>::quiet_NaN();
    hits += best == label ? 1 : 0;
  }
  loss[0] = static_cast<float>(total / rows);
  correct[0] = hits;
}

}  // namespace sq::cpu
