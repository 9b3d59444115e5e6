// Host twin of kernels/loss.cu. The loss sum is kept in double: this is the reference the GPU is held to.
#include "cpu/loss.hpp"

#include "sq/detail/softmax_xent.hpp"

namespace sq::cpu {

void softmax_xent_forward(float* loss, std::int32_t* correct, float* dlogits, const float* logits,
                          const std::int32_t* labels, int rows, int classes) {
  double total = 0.0;
  std::int32_t hits = 0;
  const float inv_rows = 1.f / static_cast<float>(rows);
  for (int r = 0; r < rows; ++r) {
    bool hit = false;
    total +=
        detail::softmax_xent_row(logits + static_cast<std::int64_t>(r) * classes,
                                 dlogits + static_cast<std::int64_t>(r) * classes, labels[r], classes, inv_rows, &hit);
    hits += hit ? 1 : 0;
  }
  loss[0] = static_cast<float>(total / rows);
  correct[0] = hits;
}

}  // namespace sq::cpu
