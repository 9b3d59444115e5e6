// SoftmaxCrossEntropy: mean cross-entropy of softmax(logits) against int32 labels, with the number of correct
// top-1 predictions. Results are device scalars written without a host sync; read_*() sync (for reporting only).
#pragma once

#include <cstdint>

#include "sq/core/tensor.hpp"
#include "sq/nn/context.hpp"

namespace sq::nn {

class SoftmaxCrossEntropy {
 public:
  // Allocates the scalars and the gradient buffer on ctx.device (outside any step).
  void setup(std::int64_t batch, int classes, ExecutionContext& ctx);
  // logits f32 [batch, classes], labels i32 [batch], both on ctx.device. Also computes dL/dlogits
  // ((softmax - onehot) / batch), so backward() costs nothing. A label outside [0, classes) makes the loss NaN.
  void forward(const Tensor& logits, const Tensor& labels, ExecutionContext& ctx);
  // dL/dlogits of the last forward.
  const Tensor& backward(ExecutionContext& ctx);

  const Tensor& loss() const { return loss_; }        // f32 [1] on the device: mean loss
  const Tensor& correct() const { return correct_; }  // i32 [1] on the device: correct predictions
  // Wait for the context's stream, then copy the scalar to the host.
  float read_loss() const;
  std::int64_t read_correct() const;

 private:
  std::int64_t batch_ = 0;
  int classes_ = 0;
  bool have_forward_ = false;
  StreamHandle stream_ = nullptr;
  Tensor loss_, correct_, grad_logits_;
};

}  // namespace sq::nn
