// Host side of the SQ step sequence (see sq_steps.hpp) and the NaN/Inf error message.
#include "quant/sq_steps.hpp"

#include <cstring>

#include "cpu/sq_hybrid.hpp"
#include "cpu/sq_quantize.hpp"
#include "cpu/sq_select.hpp"
#include "sq/config.hpp"
#include "sq/core/error.hpp"

namespace sq::quant {

void raise_if_nonfinite(const SqPlan& plan, std::uint32_t row) {
  if (row == detail::kNoNonfinite) return;
  int layer = detail::find_layer(plan.layers.data(), static_cast<int>(plan.layers.size()), row);
  SQ_FAIL("SQ pipeline: a weight is NaN or Inf in layer " << layer << " (segment at offset "
                                                          << plan.layers[layer].offset << "), row "
                                                          << row - plan.layers[layer].row_begin
                                                          << "; training diverged: lower the learning rate or "
                                                             "restart from a checkpoint");
}

void run_step_cpu(const SqPlan& plan, const detail::SqWorkspaceView& ws, const float* weights, float* hybrid,
                  std::uint64_t step, bool quantize_all) {
  if (plan.layers.empty()) return;
  if (plan.separate_row_sums) cpu::sq_row_sums(ws, weights, plan.deviation_pass);
  if (plan.deviation_pass) cpu::sq_row_deviation(ws, weights);
  cpu::sq_row_quantize(ws, weights, plan.config, plan.separate_row_sums);
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
