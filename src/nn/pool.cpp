// MaxPool2d and GlobalAvgPool: kernels/pool.cu on the GPU, its host twin on the CPU.
#include "sq/nn/pool.hpp"

#include <sstream>

#include "cpu/pool.hpp"
#include "nn/layer_util.hpp"

#if SQ_WITH_CUDA
#include "pool.cuh"
#endif

namespace sq::nn {

MaxPool2d::MaxPool2d(int kernel, int stride) : kernel_(kernel), stride_(stride) {
  SQ_CHECK(kernel_ > 0 && stride_ > 0,
           "MaxPool2d: kernel and stride must be positive (got " << kernel_ << ", " << stride_ << ")");
}

std::string MaxPool2d::describe() const {
  std::ostringstream out;
  out << kernel_ << "x" << kernel_ << ", stride " << stride_;
  return out.str();
}

Shape MaxPool2d::setup(const Shape& input, ExecutionContext& ctx) {
  SQ_CHECK(input.size() == 4 && input[2] >= kernel_ && input[3] >= kernel_,
           "MaxPool2d " << describe() << " expects (N, C, H, W) input at least as large as its window, got "
                        << shape_str(input));
  detail::check_elements(input, "MaxPool2d");
  h_ = static_cast<int>(input[2]);
  w_ = static_cast<int>(input[3]);
  out_h_ = (h_ - kernel_) / stride_ + 1;
  out_w_ = (w_ - kernel_) / stride_ + 1;
  planes_ = input[0] * input[1];
  const Shape out_shape = {input[0], input[1], out_h_, out_w_};
  output_ = Tensor(out_shape, DType::f32, ctx.device);
  argmax_ = Tensor(out_shape, DType::i32, ctx.device);
  grad_input_ = Tensor(input, DType::f32, ctx.device);
  return out_shape;
}

const Tensor& MaxPool2d::forward(const Tensor& input, ExecutionContext& ctx) {
  detail::check_tensor(input, grad_input_.shape(), ctx, {"MaxPool2d"}, "input");
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    gpu::maxpool2d_forward(output_.data<float>(), argmax_.data<std::int32_t>(), input.data<float>(), planes_, h_, w_,
                           kernel_, stride_, out_h_, out_w_, cuda_stream(ctx));
#endif
  } else {
    cpu::maxpool2d_forward(output_.data<float>(), argmax_.data<std::int32_t>(), input.data<float>(), planes_, h_, w_,
                           kernel_, stride_, out_h_, out_w_);
  }
  return output_;
}

const Tensor& MaxPool2d::backward(const Tensor& grad_output, ExecutionContext& ctx) {
  detail::check_tensor(grad_output, output_.shape(), ctx, {"MaxPool2d"}, "grad_output");
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    gpu::maxpool2d_backward(grad_input_.data<float>(), grad_output.data<float>(), argmax_.data<std::int32_t>(), planes_,
                            h_, w_, kernel_, stride_, out_h_, out_w_, cuda_stream(ctx));
#endif
  } else {
    cpu::maxpool2d_backward(grad_input_.data<float>(), grad_output.data<float>(), argmax_.data<std::int32_t>(), planes_,
                            h_, w_, kernel_, stride_, out_h_, out_w_);
  }
  return grad_input_;
}

Shape GlobalAvgPool::setup(const Shape& input, ExecutionContext& ctx) {
  SQ_CHECK(input.size() == 4, "GlobalAvgPool expects (N, C, H, W) input, got " << shape_str(input));
  planes_ = input[0] * input[1];
  hw_ = input[2] * input[3];
  output_ = Tensor({input[0], input[1]}, DType::f32, ctx.device);
  grad_input_ = Tensor(input, DType::f32, ctx.device);
  return output_.shape();
}

const Tensor& GlobalAvgPool::forward(const Tensor& input, ExecutionContext& ctx) {
  detail::check_tensor(input, grad_input_.shape(), ctx, {"GlobalAvgPool"}, "input");
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    gpu::global_avgpool_forward(output_.data<float>(), input.data<float>(), planes_, hw_, cuda_stream(ctx));
#endif
  } else {
    cpu::global_avgpool_forward(output_.data<float>(), input.data<float>(), planes_, hw_);
  }
  return output_;
}

const Tensor& GlobalAvgPool::backward(const Tensor& grad_output, ExecutionContext& ctx) {
  detail::check_tensor(grad_output, output_.shape(), ctx, {"GlobalAvgPool"}, "grad_output");
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    gpu::global_avgpool_backward(grad_input_.data<float>(), grad_output.data<float>(), planes_, hw_, cuda_stream(ctx));
#endif
  } else {
    cpu::global_avgpool_backward(grad_input_.data<float>(), grad_output.data<float>(), planes_, hw_);
  }
  return grad_input_;
}

}  // namespace sq::nn
