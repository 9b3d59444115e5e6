// SqPipeline: owns the plan and the workspace (one buffer on the pipeline's device) and runs the step sequence.
#include "sq/quant/pipeline.hpp"

#include <algorithm>
#include <vector>

#include "quant/sq_plan.hpp"
#include "quant/sq_steps.hpp"
#include "sq/core/error.hpp"
#include "sq/core/tensor.hpp"

namespace sq::quant {

struct SqPipeline::Impl {
  std::vector<SqSegment> segments;
  SqOptions options;
  Device device;
  SqPlan plan;
  Tensor workspace;  // u8, plan.bytes (at least 1)
  detail::SqWorkspaceView ws{};

  // Both copies are enqueued on `stream` (the caller's step stream) and waited for, so they are ordered after
  // the steps already enqueued there and before the next (a copy on the legacy stream would order against
  // neither on a non-blocking stream).
  void upload_layers(StreamHandle stream) {
    copy_to_device(device, const_cast<detail::SqLayerDesc*>(ws.layers), plan.layers.data(),
                   plan.layers.size() * sizeof(detail::SqLayerDesc), stream);
  }
  void request_redraw(StreamHandle stream) {
    const std::vector<std::uint32_t> ones(plan.layers.size(), 1u);
    copy_to_device(device, ws.frozen_redraw, ones.data(), ones.size() * sizeof(std::uint32_t), stream);
  }
};

SqPipeline::SqPipeline(std::vector<SqSegment> segments, SqOptions options, Device device)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.segments = std::move(segments);
  s.options = options;
  s.device = device;
  s.plan = make_plan(s.segments, options);
  s.workspace = Tensor::zeros({static_cast<std::int64_t>(std::max<std::size_t>(s.plan.bytes, 1))}, DType::u8, device);
  s.ws = carve_workspace(s.plan, s.workspace.raw());
  s.upload_layers(nullptr);
  s.request_redraw(nullptr);
  const std::uint32_t none = detail::kNoNonfinite;
  copy_to_device(device, s.ws.nonfinite, &none, sizeof none, nullptr);
}

SqPipeline::~SqPipeline() = default;
SqPipeline::SqPipeline(SqPipeline&&) noexcept = default;
SqPipeline& SqPipeline::operator=(SqPipeline&&) noexcept = default;

void SqPipeline::set_ratio(double ratio, StreamHandle stream) {
  set_plan_ratio(impl_->plan, ratio);
  impl_->options.ratio = ratio;
  impl_->upload_layers(stream);
  impl_->request_redraw(stream);
}

void SqPipeline::set_stage(int stage, StreamHandle stream) {
  SQ_CHECK(stage >= 0, "SQ stage must be >= 0, got " << stage);
  for (detail::SqLayerDesc& d : impl_->plan.layers) d.stage = static_cast<std::uint64_t>(stage);
  impl_->upload_layers(stream);
  impl_->request_redraw(stream);
}

void SqPipeline::run(const float* weights, float* hybrid, std::uint64_t step, StreamHandle stream,
                     const std::uint64_t* device_step) {
  Impl& s = *impl_;
  SQ_CHECK(step < detail::kSqStepLimit, "SQ step " << step << " is beyond the supported 2^47");
  if (s.plan.layers.empty()) return;
  SQ_CHECK(weights != nullptr && hybrid != nullptr, "SqPipeline::run needs weight and hybrid buffers");
  if (s.device.is_cpu()) {
    run_step_cpu(s.plan, s.ws, weights, hybrid, device_step ? *device_step : step, false);
  } else {
    run_step_cuda(s.plan, s.ws, weights, hybrid, step, device_step, false, stream);
  }
}

void SqPipeline::quantize_all(const float* weights, float* out, StreamHandle stream) {
  Impl& s = *impl_;
  if (s.plan.layers.empty()) return;
  SQ_CHECK(weights != nullptr && out != nullptr, "SqPipeline::quantize_all needs weight and output buffers");
  if (s.device.is_cpu()) {
    run_step_cpu(s.plan, s.ws, weights, out, 0, true);
  } else {
    run_step_cuda(s.plan, s.ws, weights, out, 0, nullptr, true, stream);
  }
}

void SqPipeline::set_layer_names(std::vector<std::string> names) {
  SQ_CHECK(names.size() == impl_->segments.size(),
           "SqPipeline::set_layer_names: " << names.size() << " names for " << impl_->segments.size() << " segments");
  impl_->plan.layer_names = std::move(names);
}

void SqPipeline::check_finite(StreamHandle stream) const {
  const Impl& s = *impl_;
  std::uint32_t row = detail::kNoNonfinite;
  copy_to_host(s.device, &row, s.ws.nonfinite, sizeof row, stream);
  if (row == detail::kNoNonfinite) return;
  const std::uint32_t none = detail::kNoNonfinite;
  copy_to_device(s.device, s.ws.nonfinite, &none, sizeof none, stream);
  raise_if_nonfinite(s.plan, row);
}

std::vector<SqLayerStats> SqPipeline::stats(StreamHandle stream) const {
  const Impl& s = *impl_;
  check_finite(stream);
  std::vector<double> raw(s.plan.layers.size() * detail::kStatSlots);
  copy_to_host(s.device, raw.data(), s.ws.layer_stats, raw.size() * sizeof(double), stream);
  std::vector<SqLayerStats> out;
  for (std::size_t l = 0; l < s.plan.layers.size(); ++l) {
    const double* v = raw.data() + l * detail::kStatSlots;
    SqLayerStats st{};
    st.units = s.plan.layers[l].units;
    st.quantized = static_cast<std::int64_t>(v[detail::kStatQuantized]);
    const std::int64_t fp = st.units - st.quantized;
    st.mean_error = v[detail::kStatErrorSum] / static_cast<double>(st.units);
    st.mean_error_quantized =
        st.quantized ? v[detail::kStatErrorSumQuantized] / static_cast<double>(st.quantized) : 0.0;
    st.mean_error_fp = fp ? v[detail::kStatErrorSumFp] / static_cast<double>(fp) : 0.0;
    out.push_back(st);
  }
  return out;
}

const std::uint8_t* SqPipeline::mask() const {
  return impl_->ws.mask;
}
const double* SqPipeline::errors() const {
  return impl_->ws.unit_error;
}

std::vector<std::uint8_t> SqPipeline::mask_to_host(StreamHandle stream) const {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(impl_->plan.total_units));
  copy_to_host(impl_->device, out.data(), impl_->ws.mask, out.size(), stream);
  return out;
}

std::vector<double> SqPipeline::errors_to_host(StreamHandle stream) const {
  std::vector<double> out(static_cast<std::size_t>(impl_->plan.total_units));
  copy_to_host(impl_->device, out.data(), impl_->ws.unit_error, out.size() * sizeof(double), stream);
  return out;
}

std::int64_t SqPipeline::units() const {
  return impl_->plan.total_units;
}
int SqPipeline::launches_per_step() const {
  return quant::launches_per_step(impl_->plan);
}
const std::vector<SqSegment>& SqPipeline::segments() const {
  return impl_->segments;
}
const SqOptions& SqPipeline::options() const {
  return impl_->options;
}
Device SqPipeline::device() const {
  return impl_->device;
}

}  // namespace sq::quant
