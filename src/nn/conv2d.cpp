// Conv2d: cuDNN on the GPU (src/cuda/cudnn_conv.cpp); on the CPU oneDNN (src/onednn/onednn_conv.cpp) or the
// reference im2col + sgemm over chunks of images.
#include "sq/nn/conv2d.hpp"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "cpu/bias.hpp"
#include "cpu/im2col.hpp"
#include "nn/gemm.hpp"
#include "nn/layer_util.hpp"

#if SQ_WITH_ONEDNN
#include "onednn/onednn_conv.hpp"
#else
namespace sq::nn::detail {
class OnednnConvolution {};  // never built without oneDNN
}  // namespace sq::nn::detail
#endif

#if SQ_WITH_CUDA
#include "bias.cuh"
#include "cuda/cudnn_conv.hpp"
#else
namespace sq::nn::detail {
class CudnnConvolution {};  // never built without CUDA
}  // namespace sq::nn::detail
#endif

namespace sq::nn {

Conv2d::Conv2d(std::string name, int in_channels, int out_channels, int kernel, int stride, int padding, bool bias,
               bool quantized)
    : name_(std::move(name)),
      in_(in_channels),
      out_(out_channels),
      kernel_(kernel),
      stride_(stride),
      padding_(padding),
      has_bias_(bias) {
  SQ_CHECK(in_ > 0 && out_ > 0 && kernel_ > 0 && stride_ > 0 && padding_ >= 0,
           "Conv2d '" << name_ << "': channels, kernel and stride must be positive and padding non-negative (got "
                      << in_ << "->" << out_ << ", k " << kernel_ << ", stride " << stride_ << ", pad " << padding_
                      << ")");
  weight_ = detail::make_parameter(name_ + ".weight", {out_, in_, kernel_, kernel_}, ParamInit::he_normal, quantized);
  if (has_bias_) bias_ = detail::make_parameter(name_ + ".bias", {out_}, ParamInit::zeros, false);
}

Conv2d::~Conv2d() = default;

std::string Conv2d::describe() const {
  std::ostringstream out;
  out << in_ << "->" << out_ << ", " << kernel_ << "x" << kernel_;
  if (stride_ != 1) out << ", stride " << stride_;
  if (padding_ != 0) out << ", pad " << padding_;
  if (has_bias_) out << ", bias";
  if (weight_.quantized) out << ", quantized";
  return out.str();
}

std::string Conv2d::algorithms() const {
#if SQ_WITH_CUDA
  if (cudnn_) return cudnn_->describe();
#endif
#if SQ_WITH_ONEDNN
  if (onednn_) return onednn_->describe();
#endif
  return "im2col + sgemm";
}

void Conv2d::collect_parameters(std::vector<Parameter*>& out) {
  out.push_back(&weight_);
  if (has_bias_) out.push_back(&bias_);
}

Shape Conv2d::setup(const Shape& input, ExecutionContext& ctx) {
  SQ_CHECK(input.size() == 4 && input[1] == in_,
           "Conv2d '" << name_ << "' expects (N, " << in_ << ", H, W) input, got " << shape_str(input));
  const int h = static_cast<int>(input[2]), w = static_cast<int>(input[3]);
  out_h_ = (h + 2 * padding_ - kernel_) / stride_ + 1;
  out_w_ = (w + 2 * padding_ - kernel_) / stride_ + 1;
  SQ_CHECK(out_h_ > 0 && out_w_ > 0, "Conv2d '" << name_ << "': input " << shape_str(input) << " is smaller than the "
                                                << kernel_ << "x" << kernel_ << " kernel");
  detail::check_elements(input, "Conv2d '" + name_ + "'");
  input_shape_ = input;
  const Shape out_shape = {input[0], out_, out_h_, out_w_};
  output_ = Tensor(out_shape, DType::f32, ctx.device);
  grad_input_ = ctx.forward_only ? Tensor() : Tensor(input, DType::f32, ctx.device);
  cudnn_.reset();
  onednn_.reset();
  columns_ = Tensor();
  staging_ = Tensor();
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    cudnn_ = std::make_unique<detail::CudnnConvolution>(
        ctx,
        detail::ConvShape{static_cast<int>(input[0]), in_, h, w, out_, kernel_, stride_, padding_, out_h_, out_w_});
#endif
  } else if (ctx.cpu_conv == CpuConv::onednn) {
#if SQ_WITH_ONEDNN
    onednn_ = std::make_unique<detail::OnednnConvolution>(detail::OnednnConvShape{
        static_cast<int>(input[0]), in_, h, w, out_, kernel_, stride_, padding_, out_h_, out_w_, has_bias_});
#else
    SQ_FAIL("Conv2d '" << name_ << "': cpu_conv onednn in a build without oneDNN (use reference)");
#endif
  } else {
    // Images are processed in chunks whose column matrix stays near 4 MiB (cache-friendly): one wide sgemm per chunk
    // instead of one small sgemm per image (OpenBLAS is far from peak on 64 x 576 x 64 products).
    const std::int64_t ckk = std::int64_t(in_) * kernel_ * kernel_, ohw = std::int64_t(out_h_) * out_w_;
    chunk_ = std::max<std::int64_t>(1, std::min<std::int64_t>(input[0], (std::int64_t(1) << 20) / (ckk * ohw)));
    columns_ = Tensor({ckk, chunk_ * ohw}, DType::f32, ctx.device);
    staging_ = Tensor({std::int64_t(out_), chunk_ * ohw}, DType::f32, ctx.device);
  }
  return out_shape;
}

const Tensor& Conv2d::forward(const Tensor& input, ExecutionContext& ctx) {
  detail::check_tensor(input, input_shape_, ctx, {"Conv2d", name_}, "input");
  detail::check_bound(weight_, ctx);
  saved_input_ = input.data<float>();
  const float* w = weight_.effective.data<float>();
  float* y = output_.data<float>();
  const std::int64_t n = input_shape_[0], ohw = std::int64_t(out_h_) * out_w_;
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    cudnn_->forward(ctx, saved_input_, w, y);
    if (has_bias_) gpu::bias_add(y, bias_.effective.data<float>(), n, out_, ohw, cuda_stream(ctx));
#endif
  } else if (onednn_) {
#if SQ_WITH_ONEDNN
    onednn_->forward(saved_input_, w, has_bias_ ? bias_.effective.data<float>() : nullptr, y);
#endif
  } else {
    const int h = static_cast<int>(input_shape_[2]), wd = static_cast<int>(input_shape_[3]);
    const std::int64_t ckk = std::int64_t(in_) * kernel_ * kernel_;
    float* col = columns_.data<float>();
    float* stage = staging_.data<float>();
    for (std::int64_t b0 = 0; b0 < n; b0 += chunk_) {
      const std::int64_t nb = std::min(chunk_, n - b0), ld = nb * ohw;
      for (std::int64_t b = 0; b < nb; ++b) {
        cpu::im2col(col + b * ohw, ld, saved_input_ + (b0 + b) * in_ * h * wd, in_, h, wd, kernel_, stride_, padding_,
                    out_h_, out_w_);
      }
      // stage [out, nb * ohw] = W [out, ckk] * col [ckk, nb * ohw], then to (N, out, oh, ow) order.
      detail::gemm(ctx, false, false, out_, ld, ckk, 1.f, w, ckk, col, ld, 0.f, stage, ld);
      for (std::int64_t b = 0; b < nb; ++b) {
        for (std::int64_t o = 0; o < out_; ++o) {
          std::memcpy(y + ((b0 + b) * out_ + o) * ohw, stage + o * ld + b * ohw, sizeof(float) * ohw);
        }
      }
    }
    if (has_bias_) cpu::bias_add(y, bias_.effective.data<float>(), n, out_, ohw);
  }
  return output_;
}

const Tensor& Conv2d::backward(const Tensor& grad_output, ExecutionContext& ctx) {
  SQ_CHECK(saved_input_ != nullptr, "Conv2d '" << name_ << "': backward before forward");
  SQ_CHECK(grad_input_.ndim() == 4, "Conv2d '" << name_ << "': backward after a forward-only setup");
  detail::check_tensor(grad_output, output_.shape(), ctx, {"Conv2d", name_}, "grad_output");
  const float* dy = grad_output.data<float>();
  const float* w = weight_.effective.data<float>();
  float* dw = weight_.grad.data<float>();
  float* dx = grad_input_.data<float>();
  const std::int64_t n = input_shape_[0], ohw = std::int64_t(out_h_) * out_w_;
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    cudnn_->backward_filter(ctx, saved_input_, dy, dw);
    cudnn_->backward_data(ctx, dy, w, dx);
    if (has_bias_) gpu::bias_grad(bias_.grad.data<float>(), dy, n, out_, ohw, cuda_stream(ctx));
#endif
  } else if (onednn_) {
#if SQ_WITH_ONEDNN
    onednn_->backward(saved_input_, dy, w, dw, has_bias_ ? bias_.grad.data<float>() : nullptr, dx);
#endif
  } else {
    const int h = static_cast<int>(input_shape_[2]), wd = static_cast<int>(input_shape_[3]);
    const std::int64_t ckk = std::int64_t(in_) * kernel_ * kernel_;
    float* col = columns_.data<float>();
    float* stage = staging_.data<float>();
    for (std::int64_t b0 = 0; b0 < n; b0 += chunk_) {
      const std::int64_t nb = std::min(chunk_, n - b0), ld = nb * ohw;
      for (std::int64_t b = 0; b < nb; ++b) {
        for (std::int64_t o = 0; o < out_; ++o) {
          std::memcpy(stage + o * ld + b * ohw, dy + ((b0 + b) * out_ + o) * ohw, sizeof(float) * ohw);
        }
        cpu::im2col(col + b * ohw, ld, saved_input_ + (b0 + b) * in_ * h * wd, in_, h, wd, kernel_, stride_, padding_,
                    out_h_, out_w_);
      }
      // dW (+)= dy [out, nb * ohw] * col^T [nb * ohw, ckk]; the first chunk overwrites.
      detail::gemm(ctx, false, true, out_, ckk, ld, 1.f, stage, ld, col, ld, b0 == 0 ? 0.f : 1.f, dw, ckk);
      // dcol = W^T [ckk, out] * dy [out, nb * ohw], folded back into each image.
      detail::gemm(ctx, true, false, ckk, ld, out_, 1.f, w, ckk, stage, ld, 0.f, col, ld);
      for (std::int64_t b = 0; b < nb; ++b) {
        cpu::col2im(dx + (b0 + b) * in_ * h * wd, col + b * ohw, ld, in_, h, wd, kernel_, stride_, padding_, out_h_,
                    out_w_);
      }
    }
    if (has_bias_) cpu::bias_grad(bias_.grad.data<float>(), dy, n, out_, ohw);
  }
  notify_grads_ready(*this, ctx);
  return grad_input_;
}

}  // namespace sq::nn
