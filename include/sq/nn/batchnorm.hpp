// BatchNorm over channels of (N, C, H, W) (BatchNorm2d) or (N, C) (BatchNorm1d) inputs: batch statistics in
// training, running statistics in evaluation, as PyTorch defines them (unbiased running variance).
#pragma once

#include <string>

#include "sq/nn/module.hpp"

namespace sq::nn {

class BatchNorm : public Module {
 public:
  // gamma ("<name>.weight", ones) and beta ("<name>.bias", zeros) are parameters; running_mean (zeros) and
  // running_var (ones) are buffers, allocated by the first setup and kept across later ones.
  BatchNorm(std::string name, int channels, float momentum = 0.1f, float eps = 1e-5f);

  std::string type() const override { return spatial_ ? "BatchNorm2d" : "BatchNorm1d"; }
  std::string describe() const override;
  std::string name() const override { return name_; }
  Shape setup(const Shape& input, ExecutionContext& ctx) override;
  const Tensor& forward(const Tensor& input, ExecutionContext& ctx) override;
  const Tensor& backward(const Tensor& grad_output, ExecutionContext& ctx) override;
  void collect_parameters(std::vector<Parameter*>& out) override;
  void collect_buffers(std::vector<NamedBuffer>& out) override;

  Parameter& gamma() { return gamma_; }
  Parameter& beta() { return beta_; }
  Tensor& running_mean() { return running_mean_; }
  Tensor& running_var() { return running_var_; }
  // Running mean 0 and variance 1, as a new layer has them (BN recalibration). Outside steps; on the GPU a blocking
  // copy (the caller orders it against the step stream). No-op before the first setup.
  void reset_running_stats();
  int channels() const { return channels_; }
  float momentum() const { return momentum_; }
  float eps() const { return eps_; }

 private:
  dist::DeviceCollective& device_world(const ExecutionContext& ctx) const;  // GPU ranks' synchronised BN
  double* sync_sums();
  std::string name_;
  int channels_;
  float momentum_, eps_;
  bool spatial_ = true;
  Parameter gamma_, beta_;
  Tensor running_mean_, running_var_;
  Tensor save_mean_, save_invstd_, partials_;
  Tensor sync_sums_;  // GPU: synchronised BN's 2 * channels doubles (the all-reduced sums), stored as 4 * channels f32
  Tensor output_, grad_input_;
  std::int64_t n_ = 0, hw_ = 0;
  int slices_ = 1;
  const float* saved_input_ = nullptr;
};

}  // namespace sq::nn
