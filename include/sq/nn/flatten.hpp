// Flatten: (N, d1, d2, ...) -> (N, d1 * d2 * ...); a view, no copy.
#pragma once

#include "sq/nn/module.hpp"

namespace sq::nn {

class Flatten : public Module {
 public:
  Flatten() = default;
  std::string type() const override { return "Flatten"; }
  Shape setup(const Shape& input, ExecutionContext& ctx) override;
  const Tensor& forward(const Tensor& input, ExecutionContext& ctx) override;
  const Tensor& backward(const Tensor& grad_output, ExecutionContext& ctx) override;

 private:
  Shape input_shape_, output_shape_;
  Tensor output_, grad_input_;  // views of the caller's buffers
};

}  // namespace sq::nn
