// BasicBlock: main path conv-BN-ReLU-conv-BN, identity or projection shortcut, residual add, ReLU.
#include "sq/nn/basic_block.hpp"

#include <sstream>

#include "cpu/activation.hpp"
#include "nn/layer_util.hpp"

#if SQ_WITH_CUDA
#include "activation.cuh"
#endif

namespace sq::nn {

namespace {
void add_tensors(Tensor& out, const Tensor& a, const Tensor& b, const ExecutionContext& ctx) {
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    gpu::add(out.data<float>(), a.data<float>(), b.data<float>(), out.numel(), cuda_stream(ctx));
#endif
  } else {
    cpu::add(out.data<float>(), a.data<float>(), b.data<float>(), out.numel());
  }
}
}  // namespace

BasicBlock::BasicBlock(std::string name, int in_channels, int out_channels, int stride, bool quantized)
    : name_(std::move(name)),
      in_(in_channels),
      out_(out_channels),
      stride_(stride),
      conv1_(name_ + ".conv1", in_channels, out_channels, 3, stride, 1, false, quantized),
      bn1_(name_ + ".bn1", out_channels),
      conv2_(name_ + ".conv2", out_channels, out_channels, 3, 1, 1, false, quantized),
      bn2_(name_ + ".bn2", out_channels) {
  if (stride != 1 || in_channels != out_channels) {
    shortcut_conv_ =
        std::make_unique<Conv2d>(name_ + ".shortcut.conv", in_channels, out_channels, 1, stride, 0, false, quantized);
    shortcut_bn_ = std::make_unique<BatchNorm>(name_ + ".shortcut.bn", out_channels);
  }
}

std::string BasicBlock::describe() const {
  std::ostringstream out;
  out << in_ << "->" << out_;
  if (stride_ != 1) out << ", stride " << stride_;
  out << (shortcut_conv_ ? ", projection shortcut" : ", identity shortcut");
  return out.str();
}

Shape BasicBlock::setup(const Shape& input, ExecutionContext& ctx) {
  Shape s = conv1_.setup(input, ctx);
  s = bn1_.setup(s, ctx);
  s = relu1_.setup(s, ctx);
  s = conv2_.setup(s, ctx);
  s = bn2_.setup(s, ctx);
  if (shortcut_conv_) {
    const Shape t = shortcut_bn_->setup(shortcut_conv_->setup(input, ctx), ctx);
    SQ_CHECK(t == s, "BasicBlock '" << name_ << "': shortcut " << shape_str(t) << " != main path " << shape_str(s));
  } else {
    SQ_CHECK(input == s, "BasicBlock '" << name_ << "': identity shortcut needs the main path to keep the shape "
                                        << shape_str(input) << ", got " << shape_str(s));
  }
  sum_ = Tensor(s, DType::f32, ctx.device);
  grad_input_ = Tensor(input, DType::f32, ctx.device);
  return relu_out_.setup(s, ctx);
}

const Tensor& BasicBlock::forward(const Tensor& input, ExecutionContext& ctx) {
  const Tensor& main =
      bn2_.forward(conv2_.forward(relu1_.forward(bn1_.forward(conv1_.forward(input, ctx), ctx), ctx), ctx), ctx);
  const Tensor& shortcut = shortcut_conv_ ? shortcut_bn_->forward(shortcut_conv_->forward(input, ctx), ctx) : input;
  add_tensors(sum_, main, shortcut, ctx);
  return relu_out_.forward(sum_, ctx);
}

const Tensor& BasicBlock::backward(const Tensor& grad_output, ExecutionContext& ctx) {
  const Tensor& g = relu_out_.backward(grad_output, ctx);
  const Tensor& g_main =
      conv1_.backward(bn1_.backward(relu1_.backward(conv2_.backward(bn2_.backward(g, ctx), ctx), ctx), ctx), ctx);
  const Tensor& g_short = shortcut_conv_ ? shortcut_conv_->backward(shortcut_bn_->backward(g, ctx), ctx) : g;
  add_tensors(grad_input_, g_main, g_short, ctx);
  return grad_input_;
}

void BasicBlock::collect_parameters(std::vector<Parameter*>& out) {
  for (Module* m : children()) m->collect_parameters(out);
}

void BasicBlock::collect_buffers(std::vector<NamedBuffer>& out) {
  for (Module* m : children()) m->collect_buffers(out);
}

std::vector<Module*> BasicBlock::children() {
  std::vector<Module*> out = {&conv1_, &bn1_, &relu1_, &conv2_, &bn2_};
  if (shortcut_conv_) {
    out.push_back(shortcut_conv_.get());
    out.push_back(shortcut_bn_.get());
  }
  out.push_back(&relu_out_);
  return out;
}

}  // namespace sq::nn
