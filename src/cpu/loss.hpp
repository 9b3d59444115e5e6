// Host twins of kernels/loss.cu: softmax cross-entropy with accuracy, fused with the gradient.
#pragma once

#include <cstdint>

namespace sq::cpu {

// loss[0] = mean over rows of -log softmax(logits)[label]; correct[0] = rows whose first maximal logit is the
// label; dlogits = (softmax - onehot(label)) / rows. A label outside [0, classes) makes the loss NaN.
void softmax_xent_forward(float* loss, std::int32_t* correct, float* dlogits, const float* logits,
                          const std::int32_t* labels, int rows, int classes);

}  // namespace sq::cpu
