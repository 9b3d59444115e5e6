// ReLU: kernels/activation.cu on the GPU, its host twin on the CPU.
#include "sq/nn/activation.hpp"

#include "cpu/activation.hpp"
#include "nn/layer_util.hpp"

#if SQ_WITH_CUDA
#include "activation.cuh"
#endif

namespace sq::nn {

Shape ReLU::setup(const Shape& input, ExecutionContext& ctx) {
  output_ = Tensor(input, DType::f32, ctx.device);
  grad_input_ = Tensor(input, DType::f32, ctx.device);
  return input;
}

const Tensor& ReLU::forward(const Tensor& input, ExecutionContext& ctx) {
  detail::check_tensor(input, output_.shape(), ctx, {"ReLU"}, "input");
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    gpu::relu_forward(output_.data<float>(), input.data<float>(), input.numel(), cuda_stream(ctx));
#endif
  } else {
    cpu::relu_forward(output_.data<float>(), input.data<float>(), input.numel());
  }
  return output_;
}

const Tensor& ReLU::backward(const Tensor& grad_output, ExecutionContext& ctx) {
  detail::check_tensor(grad_output, output_.shape(), ctx, {"ReLU"}, "grad_output");
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    gpu::relu_backward(grad_input_.data<float>(), grad_output.data<float>(), output_.data<float>(), output_.numel(),
                       cuda_stream(ctx));
#endif
  } else {
    cpu::relu_backward(grad_input_.data<float>(), grad_output.data<float>(), output_.data<float>(), output_.numel());
  }
  return grad_input_;
}

}  // namespace sq::nn
