// Linear: y = x W^T + b over (N, in) inputs (any (N, ...) shape with in features per row), cuBLAS on the GPU
// and on the CPU oneDNN matmuls (ctx.cpu_conv == onednn) or OpenBLAS (reference). Quantized layers compute with the SQ
// hybrid weights W~.
#pragma once

#include <memory>
#include <string>

#include "sq/nn/module.hpp"

namespace sq::nn {

namespace detail {
class OnednnGemm;  // src/onednn/onednn_matmul.hpp (builds with oneDNN only)
}

class Linear : public Module {
 public:
  // weight [out, in], He-normal; bias [out], zeros.
  Linear(std::string name, int in_features, int out_features, bool bias, bool quantized);
  ~Linear() override;

  std::string type() const override { return "Linear"; }
  std::string describe() const override;
  std::string name() const override { return name_; }
  Shape setup(const Shape& input, ExecutionContext& ctx) override;
  const Tensor& forward(const Tensor& input, ExecutionContext& ctx) override;
  const Tensor& backward(const Tensor& grad_output, ExecutionContext& ctx) override;
  void collect_parameters(std::vector<Parameter*>& out) override;

  Parameter& weight() { return weight_; }
  Parameter* bias() { return has_bias_ ? &bias_ : nullptr; }
  int in_features() const { return in_; }
  int out_features() const { return out_; }

 private:
  std::string name_;
  int in_, out_;
  bool has_bias_;
  Parameter weight_, bias_;
  Shape input_shape_;
  std::int64_t batch_ = 0;
  Tensor output_, grad_input_;
  const float* saved_input_ = nullptr;
  // CPU fast path: y = x W^T, dW = dy^T x, dx = dy W as oneDNN matmuls made at setup (null: nn/gemm.hpp).
  std::unique_ptr<detail::OnednnGemm> onednn_forward_, onednn_weight_grad_, onednn_input_grad_;
};

}  // namespace sq::nn
