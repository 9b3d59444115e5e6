// Conv2d: 2-d convolution (square kernel, stride, zero padding, optional bias), cuDNN on the GPU and
// im2col + OpenBLAS sgemm on the CPU. Quantized layers compute with the SQ hybrid weights W~.
#pragma once

#include <memory>
#include <string>

#include "sq/nn/module.hpp"

namespace sq::nn {

namespace detail {
class CudnnConvolution;   // src/cuda/cudnn_conv.hpp: descriptors, chosen algorithms (CUDA builds only)
class OnednnConvolution;  // src/onednn/onednn_conv.hpp: CPU primitives (builds with oneDNN only)
}  // namespace detail

class Conv2d : public Module {
 public:
  // weight [out, in, k, k], He-normal; bias [out], zeros.
  Conv2d(std::string name, int in_channels, int out_channels, int kernel, int stride, int padding, bool bias,
         bool quantized);
  ~Conv2d() override;

  std::string type() const override { return "Conv2d"; }
  std::string describe() const override;
  std::string name() const override { return name_; }
  Shape setup(const Shape& input, ExecutionContext& ctx) override;
  const Tensor& forward(const Tensor& input, ExecutionContext& ctx) override;
  const Tensor& backward(const Tensor& grad_output, ExecutionContext& ctx) override;
  void collect_parameters(std::vector<Parameter*>& out) override;

  Parameter& weight() { return weight_; }
  Parameter* bias() { return has_bias_ ? &bias_ : nullptr; }
  int in_channels() const { return in_; }
  int out_channels() const { return out_; }
  int kernel() const { return kernel_; }
  int stride() const { return stride_; }
  int padding() const { return padding_; }
  // The cuDNN algorithms setup() chose ("fwd 1 (fma), bwd-data 1 (fma), bwd-filter 1 (fma)"); on the CPU the oneDNN
  // implementations ("onednn fwd jit:avx512_core, ...") or "im2col + sgemm".
  std::string algorithms() const;

 private:
  std::string name_;
  int in_, out_, kernel_, stride_, padding_;
  bool has_bias_;
  Parameter weight_, bias_;
  Shape input_shape_;
  int out_h_ = 0, out_w_ = 0;
  Tensor output_, grad_input_;
  // CPU: im2col matrix of a chunk of images side by side, and the output (or output gradient) in [out, chunk * ohw].
  Tensor columns_, staging_;
  std::int64_t chunk_ = 1;
  const float* saved_input_ = nullptr;
  std::unique_ptr<detail::CudnnConvolution> cudnn_;
  std::unique_ptr<detail::OnednnConvolution> onednn_;
};

}  // namespace sq::nn
