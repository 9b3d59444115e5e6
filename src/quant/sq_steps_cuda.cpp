// CUDA side of the SQ step sequence (see sq_steps.hpp): launches only; compiled in CUDA builds.
#include "sq/config.hpp"

#if SQ_WITH_CUDA
#include <cuda_runtime.h>

#include <cstring>

#include "quant/sq_steps.hpp"
#include "sq/core/cuda_check.hpp"
#include "sq_hybrid.cuh"
#include "sq_quantize.cuh"
#include "sq_select.cuh"

namespace sq::quant {

void run_step_cuda(const SqPlan& plan, const detail::SqWorkspaceView& ws, const float* weights, float* hybrid,
                   std::uint64_t step, const std::uint64_t* device_step, bool quantize_all, StreamHandle stream) {
  if (plan.layers.empty()) return;
  if (plan.separate_row_sums) cuda::sq_row_sums(ws, weights, plan.deviation_pass, stream);
  if (plan.deviation_pass) cuda::sq_row_deviation(ws, weights, stream);
  cuda::sq_row_quantize(ws, weights, plan.config, plan.separate_row_sums, stream);
  if (!quantize_all) cuda::sq_select(ws, plan.config, step, device_step, stream);
  cuda::sq_hybrid(hybrid, ws, weights, plan.config, quantize_all, stream);
}

void copy_to_device(Device device, void* dst, const void* src, std::size_t bytes, StreamHandle stream) {
  if (bytes == 0) return;
  if (device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  SQ_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
  SQ_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void copy_to_host(Device device, void* dst, const void* src, std::size_t bytes, StreamHandle stream) {
  if (bytes == 0) return;
  if (device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  SQ_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream));
  SQ_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace sq::quant
#endif
