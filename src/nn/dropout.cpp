// Dropout: kernels/dropout.cu on the GPU, its host twin on the CPU; the identity in evaluation mode.
#include "sq/nn/dropout.hpp"

#include <sstream>

#include "cpu/dropout.hpp"
#include "nn/layer_util.hpp"

#if SQ_WITH_CUDA
#include "dropout.cuh"
#endif

namespace sq::nn {

Dropout::Dropout(std::string name, float p) : name_(std::move(name)), p_(p), layer_id_(stable_name_hash(name_)) {
  SQ_CHECK(p_ >= 0.f && p_ < 1.f, "Dropout '" << name_ << "': p must be in [0, 1), got " << p_);
}

std::string Dropout::describe() const {
  std::ostringstream out;
  out << "p " << p_;
  return out.str();
}

Shape Dropout::setup(const Shape& input, ExecutionContext& ctx) {
  output_ = Tensor(input, DType::f32, ctx.device);
  mask_ = Tensor(input, DType::u8, ctx.device);
  grad_input_ = Tensor(input, DType::f32, ctx.device);
  return input;
}

const Tensor& Dropout::forward(const Tensor& input, ExecutionContext& ctx) {
  detail::check_tensor(input, output_.shape(), ctx, {"Dropout", name_}, "input");
  last_training_ = ctx.training && ctx.dropout;
  if (!last_training_) return input;
  const float scale = 1.f / (1.f - p_);
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    gpu::dropout_forward(output_.data<float>(), mask_.data<std::uint8_t>(), input.data<float>(), input.numel(), p_,
                         scale, ctx.seed, layer_id_, ctx.step, ctx.device_step, cuda_stream(ctx));
#endif
  } else {
    cpu::dropout_forward(output_.data<float>(), mask_.data<std::uint8_t>(), input.data<float>(), input.numel(), p_,
                         scale, ctx.seed, layer_id_, ctx.step, ctx.device_step);
  }
  return output_;
}

const Tensor& Dropout::backward(const Tensor& grad_output, ExecutionContext& ctx) {
  detail::check_tensor(grad_output, output_.shape(), ctx, {"Dropout", name_}, "grad_output");
  if (!last_training_) return grad_output;
  const float scale = 1.f / (1.f - p_);
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    gpu::dropout_backward(grad_input_.data<float>(), grad_output.data<float>(), mask_.data<std::uint8_t>(),
                          grad_output.numel(), scale, cuda_stream(ctx));
#endif
  } else {
    cpu::dropout_backward(grad_input_.data<float>(), grad_output.data<float>(), mask_.data<std::uint8_t>(),
                          grad_output.numel(), scale);
  }
  return grad_input_;
}

}  // namespace sq::nn
