// Linear: y = x W^T + b with one sgemm per direction (cuBLAS / OpenBLAS through nn/gemm.hpp).
#include "sq/nn/linear.hpp"

#include <sstream>

#include "cpu/bias.hpp"
#include "nn/gemm.hpp"
#if SQ_WITH_ONEDNN
#include "onednn/onednn_matmul.hpp"
#else
namespace sq::nn::detail {
class OnednnGemm {};  // never built without oneDNN
}  // namespace sq::nn::detail
#endif
#include "nn/layer_util.hpp"

#if SQ_WITH_CUDA
#include "bias.cuh"
#endif

namespace sq::nn {

Linear::Linear(std::string name, int in_features, int out_features, bool bias, bool quantized)
    : name_(std::move(name)), in_(in_features), out_(out_features), has_bias_(bias) {
  SQ_CHECK(in_ > 0 && out_ > 0,
           "Linear '" << name_ << "': features must be positive (got " << in_ << "->" << out_ << ")");
  weight_ = detail::make_parameter(name_ + ".weight", {out_, in_}, ParamInit::he_normal, quantized);
  if (has_bias_) bias_ = detail::make_parameter(name_ + ".bias", {out_}, ParamInit::zeros, false);
}

std::string Linear::describe() const {
  std::ostringstream out;
  out << in_ << "->" << out_;
  if (has_bias_) out << ", bias";
  if (weight_.quantized) out << ", quantized";
  return out.str();
}

Linear::~Linear() = default;

void Linear::collect_parameters(std::vector<Parameter*>& out) {
  out.push_back(&weight_);
  if (has_bias_) out.push_back(&bias_);
}

Shape Linear::setup(const Shape& input, ExecutionContext& ctx) {
  SQ_CHECK(input.size() >= 2 && shape_numel(input) == input[0] * in_,
           "Linear '" << name_ << "' expects (N, " << in_ << ") input (or (N, ...) with " << in_
                      << " features per row), got " << shape_str(input));
  detail::check_elements(input, "Linear '" + name_ + "'");
  input_shape_ = input;
  batch_ = input[0];
  output_ = Tensor({batch_, out_}, DType::f32, ctx.device);
  grad_input_ = Tensor(input, DType::f32, ctx.device);
  onednn_forward_.reset();
  onednn_weight_grad_.reset();
  onednn_input_grad_.reset();
  if (!ctx.on_gpu() && ctx.cpu_conv == CpuConv::onednn) {
#if SQ_WITH_ONEDNN
    onednn_forward_ = std::make_unique<detail::OnednnGemm>(false, true, batch_, out_, in_, in_, in_, out_);
    onednn_weight_grad_ = std::make_unique<detail::OnednnGemm>(true, false, out_, in_, batch_, out_, in_, in_);
    onednn_input_grad_ = std::make_unique<detail::OnednnGemm>(false, false, batch_, in_, out_, out_, in_, in_);
#else
    SQ_FAIL("Linear '" << name_ << "': cpu_conv onednn in a build without oneDNN (use reference)");
#endif
  }
  return output_.shape();
}

const Tensor& Linear::forward(const Tensor& input, ExecutionContext& ctx) {
  detail::check_tensor(input, input_shape_, ctx, {"Linear", name_}, "input");
  detail::check_bound(weight_, ctx);
  saved_input_ = input.data<float>();
  float* y = output_.data<float>();
  if (onednn_forward_) {
#if SQ_WITH_ONEDNN
    onednn_forward_->run(saved_input_, weight_.effective.data<float>(), y);
#endif
  } else {
    detail::gemm(ctx, false, true, batch_, out_, in_, 1.f, saved_input_, in_, weight_.effective.data<float>(), in_, 0.f,
                 y, out_);
  }
  if (has_bias_) {
    if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
      gpu::bias_add(y, bias_.effective.data<float>(), batch_, out_, 1, cuda_stream(ctx));
#endif
    } else {
      cpu::bias_add(y, bias_.effective.data<float>(), batch_, out_, 1);
    }
  }
  return output_;
}

const Tensor& Linear::backward(const Tensor& grad_output, ExecutionContext& ctx) {
  SQ_CHECK(saved_input_ != nullptr, "Linear '" << name_ << "': backward before forward");
  detail::check_tensor(grad_output, output_.shape(), ctx, {"Linear", name_}, "grad_output");
  const float* dy = grad_output.data<float>();
  // dW [out, in] = dy^T [out, N] x [N, in];  dx [N, in] = dy [N, out] W [out, in]
  if (onednn_weight_grad_) {
#if SQ_WITH_ONEDNN
    onednn_weight_grad_->run(dy, saved_input_, weight_.grad.data<float>());
    onednn_input_grad_->run(dy, weight_.effective.data<float>(), grad_input_.data<float>());
#endif
  } else {
    detail::gemm(ctx, true, false, out_, in_, batch_, 1.f, dy, out_, saved_input_, in_, 0.f, weight_.grad.data<float>(),
                 in_);
    detail::gemm(ctx, false, false, batch_, in_, out_, 1.f, dy, out_, weight_.effective.data<float>(), in_, 0.f,
                 grad_input_.data<float>(), in_);
  }
  if (has_bias_) {
    if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
      gpu::bias_grad(bias_.grad.data<float>(), dy, batch_, out_, 1, cuda_stream(ctx));
#endif
    } else {
      cpu::bias_grad(bias_.grad.data<float>(), dy, batch_, out_, 1);
    }
  }
  notify_grads_ready(*this, ctx);
  return grad_input_;
}

}  // namespace sq::nn
