// Pooling: MaxPool2d (square window, no padding) and GlobalAvgPool ((N, C, H, W) -> (N, C)).
#pragma once

#include "sq/nn/module.hpp"

namespace sq::nn {

class MaxPool2d : public Module {
 public:
  MaxPool2d(int kernel, int stride);
  std::string type() const override { return "MaxPool2d"; }
  std::string describe() const override;
  int kernel() const { return kernel_; }
  int stride() const { return stride_; }
  Shape setup(const Shape& input, ExecutionContext& ctx) override;
  const Tensor& forward(const Tensor& input, ExecutionContext& ctx) override;
  const Tensor& backward(const Tensor& grad_output, ExecutionContext& ctx) override;

 private:
  int kernel_, stride_;
  int h_ = 0, w_ = 0, out_h_ = 0, out_w_ = 0;
  std::int64_t planes_ = 0;
  Tensor output_, argmax_, grad_input_;
};

class GlobalAvgPool : public Module {
 public:
  GlobalAvgPool() = default;
  std::string type() const override { return "GlobalAvgPool"; }
  Shape setup(const Shape& input, ExecutionContext& ctx) override;
  const Tensor& forward(const Tensor& input, ExecutionContext& ctx) override;
  const Tensor& backward(const Tensor& grad_output, ExecutionContext& ctx) override;

 private:
  std::int64_t planes_ = 0, hw_ = 0;
  Tensor output_, grad_input_;
};

}  // namespace sq::nn
