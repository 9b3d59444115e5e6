// Host side of the SQ step sequence (see sq_steps.hpp) and the NaN/Inf error message.
#include "quant/sq_steps.hpp"

#include <algorithm>
#include <cstring>

#include "cpu/sq_hybrid.hpp"
#include "cpu/sq_quantize.hpp"
#include "cpu/sq_select.hpp"
#include "quant/sq_worker.hpp"
#include "sq/config.hpp"
#include "sq/core/error.hpp"

namespace sq::quant {

void raise_if_nonfinite(const SqPlan& plan, std::uint32_t row) {
  if (row == detail::kNoNonfinite) return;
  const int layer = detail::find_layer(plan.layers.data(), static_cast<int>(plan.layers.size()), row);
  // Named by the model's parameter name when the owner gave names; a layer number otherwise, never an offset.
  const std::string name = static_cast<std::size_t>(layer) < plan.layer_names.size()
                               ? plan.layer_names[static_cast<std::size_t>(layer)]
                               : "quantized layer " + std::to_string(layer);
  SQ_FAIL("SQ pipeline: a weight is NaN or Inf in " << name << ", row " << row - plan.layers[layer].row_begin
                                                    << " (output channel); training diverged: lower the learning "
                                                       "rate or restart from a checkpoint");
}

namespace {

// One thread's share of a host step: layers [0, split) or [split, end) as a workspace view of their own (layer
// descriptors carry global row and unit offsets, so the passes need no change) with its own NaN/Inf slot.
struct HalfStep {
  const SqPlan* plan;
  const detail::SqWorkspaceView* ws;
  const float* weights;
  float* hybrid;
  std::uint64_t step;
  bool quantize_all;
  bool select_phase;
  std::uint32_t nonfinite[2];

  detail::SqWorkspaceView view(int half) {
    detail::SqWorkspaceView v = *ws;
    const int split = plan->parallel_split;
    v.layers = ws->layers + (half == 0 ? 0 : split);
    v.layer_count = half == 0 ? split : ws->layer_count - split;
    v.nonfinite = &nonfinite[half];
    return v;
  }
};

void quantize_pass(const SqPlan& plan, const detail::SqWorkspaceView& ws, const float* weights) {
  if (plan.separate_row_sums) cpu::sq_row_sums(ws, weights, plan.deviation_pass);
  if (plan.deviation_pass) cpu::sq_row_deviation(ws, weights);
  cpu::sq_row_quantize(ws, weights, plan.config, plan.separate_row_sums);
}

void run_half(void* context, int half) {
  auto& h = *static_cast<HalfStep*>(context);
  const detail::SqWorkspaceView v = h.view(half);
  if (!h.select_phase) {
    quantize_pass(*h.plan, v, h.weights);
    return;
  }
  if (!h.quantize_all) {
    const int begin = static_cast<int>(v.layers - h.ws->layers);
    cpu::sq_select_layers(*h.ws, h.plan->config, h.step, begin, begin + v.layer_count);
  }
  cpu::sq_hybrid(h.hybrid, v, h.weights, h.plan->config, h.quantize_all);
}

}  // namespace

void run_step_cpu(const SqPlan& plan, const detail::SqWorkspaceView& ws, const float* weights, float* hybrid,
                  std::uint64_t step, bool quantize_all) {
  if (plan.layers.empty()) return;
  HalfStep h{&plan, &ws, weights, hybrid, step, quantize_all, false, {detail::kNoNonfinite, detail::kNoNonfinite}};
  if (plan.parallel_split > 0 && run_two_halves(run_half, &h)) {
    raise_if_nonfinite(plan, std::min(h.nonfinite[0], h.nonfinite[1]));
    h.select_phase = true;
    if (run_two_halves(run_half, &h)) return;
    run_half(&h, 0);  // the helper was taken meanwhile: finish on this thread
    run_half(&h, 1);
    return;
  }
  quantize_pass(plan, ws, weights);
  const std::uint32_t bad_row = *ws.nonfinite;
  *ws.nonfinite = detail::kNoNonfinite;
  raise_if_nonfinite(plan, bad_row);
  if (!quantize_all) cpu::sq_select(ws, plan.config, step);
  cpu::sq_hybrid(hybrid, ws, weights, plan.config, quantize_all);
}

#if !SQ_WITH_CUDA
void run_step_cuda(const SqPlan&, const detail::SqWorkspaceView&, const float*, float*, std::uint64_t,
                   const std::uint64_t*, bool, StreamHandle) {
  SQ_FAIL("SQ pipeline on cuda: this SQ-CUDA build has no CUDA support (rebuild with SQ_ENABLE_CUDA=ON)");
}

void copy_to_device(Device device, void* dst, const void* src, std::size_t bytes, StreamHandle) {
  SQ_CHECK(device.is_cpu(), "this SQ-CUDA build has no CUDA support");
  if (bytes) std::memcpy(dst, src, bytes);
}

void copy_to_host(Device device, void* dst, const void* src, std::size_t bytes, StreamHandle) {
  SQ_CHECK(device.is_cpu(), "this SQ-CUDA build has no CUDA support");
  if (bytes) std::memcpy(dst, src, bytes);
}
#endif

}  // namespace sq::quant
