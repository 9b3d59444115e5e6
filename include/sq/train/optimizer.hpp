// SGD with momentum and weight decay over a whole ParameterArena: one launch per step for all parameters.
#pragma once

#include "sq/core/stream.hpp"
#include "sq/core/tensor.hpp"
#include "sq/nn/parameter.hpp"

namespace sq::train {

struct SgdOptions {
  float momentum = 0.9f;
  float weight_decay = 1e-4f;  // applied to arena elements [0, decayed_end): which parameters is Parameter::decay
};

// Update rule (Caffe / PyTorch form, sq/detail/sgd.hpp): d = g + wd*w; v = mu*v + d; w -= lr*v. The velocity
// starts at zero (PyTorch starts it at g on the first step; with v = 0 the first step is the same: mu*0 + d).
class Sgd {
 public:
  // Allocates the velocity (zeros) on the arena's device; the arena must be bound and outlive the optimiser.
  Sgd(nn::ParameterArena& arena, SgdOptions options);

  // w, v <- update(w, v, grad) with lr by value. No host sync, no allocation.
  void step(float lr, StreamHandle stream);
  // The same reading lr from device memory (a float on the arena's device): what a captured CUDA graph calls.
  // On the CPU, `lr` is a host pointer read at call time.
  void step_device_lr(const float* lr, StreamHandle stream);

  // Zeroes the velocity, ordered on `stream` after the steps enqueued there: SQ stages restart momentum
  // (SQ_SPEC section 7).
  void reset(StreamHandle stream);

  const SgdOptions& options() const { return options_; }
  void set_options(const SgdOptions& options) { options_ = options; }
  Tensor& velocity() { return velocity_; }  // arena layout; checkpointed as optimizer state
  const Tensor& velocity() const { return velocity_; }

 private:
  nn::ParameterArena* arena_;
  SgdOptions options_;
  Tensor velocity_;
};

}  // namespace sq::train
