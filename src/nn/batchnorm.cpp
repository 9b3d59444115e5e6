// BatchNorm: kernels/batchnorm.cu on the GPU, its host twin on the CPU; running statistics kept across setups.
#include "sq/nn/batchnorm.hpp"

#include <algorithm>
#include <sstream>
#include <vector>

#include "cpu/batchnorm.hpp"
#include "dist/sync_batchnorm.hpp"
#include "nn/layer_util.hpp"
#include "sq/dist/collective.hpp"
#include "sq/dist/device_collective.hpp"

#if SQ_WITH_CUDA
#include "batchnorm.cuh"
#endif

namespace sq::nn {

namespace {
// Blocks per channel for the GPU's split reductions: about 1024 blocks in all, at most one per image. A function
// of the shape only, so results never depend on the device.
int reduction_slices(std::int64_t n, std::int64_t c) {
  const std::int64_t wanted = (1024 + c - 1) / c;
  return static_cast<int>(std::max<std::int64_t>(1, std::min(wanted, n)));
}
}  // namespace

dist::DeviceCollective& BatchNorm::device_world(const ExecutionContext& ctx) const {
  SQ_CHECK(ctx.device_collective != nullptr,
           "BatchNorm '" << name_
                         << "': synchronised BN on a GPU needs the ranks' device all-reduce (ctx.device_collective: "
                            "NCCL, set by dist::attach)");
  SQ_CHECK(ctx.device_collective->size() == ctx.sync_bn->size(),
           "BatchNorm '" << name_ << "': the device all-reduce spans " << ctx.device_collective->size()
                         << " ranks, the synchronised BN world " << ctx.sync_bn->size());
  return *ctx.device_collective;
}

double* BatchNorm::sync_sums() {
  SQ_CHECK(sync_sums_.numel() == 4 * std::int64_t(channels_), "BatchNorm '" << name_ << "': sync BN before setup()");
  return reinterpret_cast<double*>(sync_sums_.data<float>());  // device allocations are 256-byte aligned
}

BatchNorm::BatchNorm(std::string name, int channels, float momentum, float eps)
    : name_(std::move(name)), channels_(channels), momentum_(momentum), eps_(eps) {
  SQ_CHECK(channels_ > 0, "BatchNorm '" << name_ << "': channels must be positive, got " << channels_);
  SQ_CHECK(momentum_ >= 0.f && momentum_ <= 1.f && eps_ > 0.f,
           "BatchNorm '" << name_ << "': momentum must be in [0, 1] and eps positive (got " << momentum_ << ", " << eps_
                         << ")");
  gamma_ = detail::make_parameter(name_ + ".weight", {channels_}, ParamInit::ones, false);
  beta_ = detail::make_parameter(name_ + ".bias", {channels_}, ParamInit::zeros, false);
}

std::string BatchNorm::describe() const {
  std::ostringstream out;
  out << channels_ << ", momentum " << momentum_ << ", eps " << eps_;
  return out.str();
}

void BatchNorm::collect_parameters(std::vector<Parameter*>& out) {
  out.push_back(&gamma_);
  out.push_back(&beta_);
}

void BatchNorm::collect_buffers(std::vector<NamedBuffer>& out) {
  out.push_back({name_ + ".running_mean", &running_mean_});
  out.push_back({name_ + ".running_var", &running_var_});
}

Shape BatchNorm::setup(const Shape& input, ExecutionContext& ctx) {
  SQ_CHECK((input.size() == 4 || input.size() == 2) && input[1] == channels_,
           "BatchNorm '" << name_ << "' expects (N, " << channels_ << ", H, W) or (N, " << channels_ << ") input, got "
                         << shape_str(input));
  detail::check_elements(input, "BatchNorm '" + name_ + "'");
  spatial_ = input.size() == 4;
  n_ = input[0];
  hw_ = spatial_ ? input[2] * input[3] : 1;
  slices_ = reduction_slices(n_, channels_);
  if (!running_mean_.defined() || running_mean_.numel() != channels_ || running_mean_.device() != ctx.device) {
    running_mean_ = Tensor::from_vector(std::vector<float>(channels_, 0.f), {channels_}, ctx.device);
    running_var_ = Tensor::from_vector(std::vector<float>(channels_, 1.f), {channels_}, ctx.device);
  }
  save_mean_ = Tensor({channels_}, DType::f32, ctx.device);
  save_invstd_ = Tensor({channels_}, DType::f32, ctx.device);
  partials_ = Tensor({2 * std::int64_t(channels_) * slices_}, DType::f32, ctx.device);
  // Sized here, outside any step, whether or not BN is synchronised: 16 bytes per channel. The CPU ranks' sums live
  // in src/dist/sync_batchnorm.cpp's scratch.
  if (ctx.on_gpu()) sync_sums_ = Tensor({4 * std::int64_t(channels_)}, DType::f32, ctx.device);
  output_ = Tensor(input, DType::f32, ctx.device);
  grad_input_ = Tensor(input, DType::f32, ctx.device);
  return input;
}

const Tensor& BatchNorm::forward(const Tensor& input, ExecutionContext& ctx) {
  detail::check_tensor(input, output_.shape(), ctx, {"BatchNorm", name_}, "input");
  detail::check_bound(gamma_, ctx);
  saved_input_ = input.data<float>();
  const float* x = saved_input_;
  float* y = output_.data<float>();
  const float* g = gamma_.effective.data<float>();
  const float* b = beta_.effective.data<float>();
  float* rm = running_mean_.data<float>();
  float* rv = running_var_.data<float>();
  const float momentum = ctx.bn_momentum >= 0.f ? ctx.bn_momentum : momentum_;
  if (ctx.sync_bn != nullptr && ctx.training) {
    if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
      dist::sync_batchnorm_forward_train(device_world(ctx), ctx.stream, sync_sums(), partials_.data<float>(), slices_,
                                         y, save_mean_.data<float>(), save_invstd_.data<float>(), rm, rv, x, g, b, n_,
                                         channels_, hw_, momentum, eps_);
#endif
    } else {
      dist::sync_batchnorm_forward_train(*ctx.sync_bn, y, save_mean_.data<float>(), save_invstd_.data<float>(), rm, rv,
                                         x, g, b, n_, channels_, hw_, momentum, eps_);
    }
    return output_;
  }
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    if (ctx.training) {
      gpu::batchnorm_forward_train(y, save_mean_.data<float>(), save_invstd_.data<float>(), rm, rv,
                                   partials_.data<float>(), x, g, b, n_, channels_, hw_, slices_, momentum, eps_,
                                   cuda_stream(ctx));
    } else {
      gpu::batchnorm_forward_eval(y, x, g, b, rm, rv, n_, channels_, hw_, eps_, cuda_stream(ctx));
    }
#endif
  } else if (ctx.training) {
    cpu::batchnorm_forward_train(y, save_mean_.data<float>(), save_invstd_.data<float>(), rm, rv,
                                 partials_.data<float>(), x, g, b, n_, channels_, hw_, slices_, momentum, eps_);
  } else {
    cpu::batchnorm_forward_eval(y, x, g, b, rm, rv, n_, channels_, hw_, eps_);
  }
  return output_;
}

const Tensor& BatchNorm::backward(const Tensor& grad_output, ExecutionContext& ctx) {
  SQ_CHECK(saved_input_ != nullptr, "BatchNorm '" << name_ << "': backward before forward");
  SQ_CHECK(ctx.training, "BatchNorm '" << name_ << "': backward needs a training-mode forward (ctx.training)");
  detail::check_tensor(grad_output, output_.shape(), ctx, {"BatchNorm", name_}, "grad_output");
  if (ctx.sync_bn != nullptr) {
    if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
      dist::sync_batchnorm_backward(device_world(ctx), ctx.stream, sync_sums(), partials_.data<float>(), slices_,
                                    grad_input_.data<float>(), gamma_.grad.data<float>(), beta_.grad.data<float>(),
                                    grad_output.data<float>(), saved_input_, save_mean_.data<float>(),
                                    save_invstd_.data<float>(), gamma_.effective.data<float>(), n_, channels_, hw_);
#endif
    } else {
      dist::sync_batchnorm_backward(*ctx.sync_bn, grad_input_.data<float>(), gamma_.grad.data<float>(),
                                    beta_.grad.data<float>(), grad_output.data<float>(), saved_input_,
                                    save_mean_.data<float>(), save_invstd_.data<float>(),
                                    gamma_.effective.data<float>(), n_, channels_, hw_);
    }
    notify_grads_ready(*this, ctx);
    return grad_input_;
  }
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    gpu::batchnorm_backward(grad_input_.data<float>(), gamma_.grad.data<float>(), beta_.grad.data<float>(),
                            partials_.data<float>(), grad_output.data<float>(), saved_input_, save_mean_.data<float>(),
                            save_invstd_.data<float>(), gamma_.effective.data<float>(), n_, channels_, hw_, slices_,
                            cuda_stream(ctx));
#endif
  } else {
    cpu::batchnorm_backward(grad_input_.data<float>(), gamma_.grad.data<float>(), beta_.grad.data<float>(),
                            partials_.data<float>(), grad_output.data<float>(), saved_input_, save_mean_.data<float>(),
                            save_invstd_.data<float>(), gamma_.effective.data<float>(), n_, channels_, hw_, slices_);
  }
  notify_grads_ready(*this, ctx);
  return grad_input_;
}

void BatchNorm::reset_running_stats() {
  if (running_mean_.numel() == 0) return;
  const std::vector<float> zeros(static_cast<std::size_t>(channels_), 0.f), ones(zeros.size(), 1.f);
  running_mean_.copy_from(Tensor::from_vector(zeros, {channels_}, Device::cpu()));
  running_var_.copy_from(Tensor::from_vector(ones, {channels_}, Device::cpu()));
}

}  // namespace sq::nn
