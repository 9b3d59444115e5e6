// BasicBlock: the ResNet basic block, relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); the shortcut is the
// identity, or a 1x1 stride-s convolution + BN (projection) when the shape changes.
#pragma once

#include <memory>
#include <string>

#include "sq/nn/activation.hpp"
#include "sq/nn/batchnorm.hpp"
#include "sq/nn/conv2d.hpp"

namespace sq::nn {

class BasicBlock : public Module {
 public:
  // Sub-modules: <name>.conv1, .bn1, .conv2, .bn2 and, with a projection, .shortcut.conv, .shortcut.bn. All
  // convolutions (the projection's too) are bias-free and quantized when `quantized`.
  BasicBlock(std::string name, int in_channels, int out_channels, int stride, bool quantized);

  std::string type() const override { return "BasicBlock"; }
  std::string describe() const override;
  std::string name() const override { return name_; }
  Shape setup(const Shape& input, ExecutionContext& ctx) override;
  const Tensor& forward(const Tensor& input, ExecutionContext& ctx) override;
  const Tensor& backward(const Tensor& grad_output, ExecutionContext& ctx) override;
  void collect_parameters(std::vector<Parameter*>& out) override;
  void collect_buffers(std::vector<NamedBuffer>& out) override;
  std::vector<Module*> children() override;

  bool has_projection() const { return shortcut_conv_ != nullptr; }

 private:
  std::string name_;
  int in_, out_, stride_;
  Conv2d conv1_;
  BatchNorm bn1_;
  ReLU relu1_;
  Conv2d conv2_;
  BatchNorm bn2_;
  std::unique_ptr<Conv2d> shortcut_conv_;
  std::unique_ptr<BatchNorm> shortcut_bn_;
  ReLU relu_out_;
  Tensor sum_, grad_input_;
};

}  // namespace sq::nn
