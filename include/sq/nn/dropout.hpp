// Dropout (inverted: kept elements scaled by 1 / (1 - p)). The mask is a function of (ctx.seed, ctx.step or
// *ctx.device_step, this layer's name, element index) through Philox: reproducible and identical on CPU and GPU.
// Evaluation mode is the identity.
#pragma once

#include <cstdint>
#include <string>

#include "sq/nn/module.hpp"

namespace sq::nn {

class Dropout : public Module {
 public:
  Dropout(std::string name, float p);
  std::string type() const override { return "Dropout"; }
  std::string describe() const override;
  std::string name() const override { return name_; }
  Shape setup(const Shape& input, ExecutionContext& ctx) override;
  const Tensor& forward(const Tensor& input, ExecutionContext& ctx) override;
  const Tensor& backward(const Tensor& grad_output, ExecutionContext& ctx) override;

  float p() const { return p_; }
  std::uint64_t layer_id() const { return layer_id_; }
  const Tensor& mask() const { return mask_; }  // u8, 1 = kept (last training forward)

 private:
  std::string name_;
  float p_;
  std::uint64_t layer_id_;
  bool last_training_ = false;
  Tensor output_, mask_, grad_input_;
};

}  // namespace sq::nn
