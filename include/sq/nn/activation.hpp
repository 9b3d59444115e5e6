// ReLU (the only activation the paper's networks use).
#pragma once

#include "sq/nn/module.hpp"

namespace sq::nn {

class ReLU : public Module {
 public:
  ReLU() = default;
  std::string type() const override { return "ReLU"; }
  Shape setup(const Shape& input, ExecutionContext& ctx) override;
  const Tensor& forward(const Tensor& input, ExecutionContext& ctx) override;
  const Tensor& backward(const Tensor& grad_output, ExecutionContext& ctx) override;

 private:
  Tensor output_, grad_input_;
};

}  // namespace sq::nn
