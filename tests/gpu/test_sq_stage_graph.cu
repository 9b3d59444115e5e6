// The SQ stage lives in device memory beside N_q: a CUDA graph captured once replays a set_stage() (and a
// set_ratio()) made after the capture, and its frozen draws equal the CPU twin's at every stage. Before, the stage
// was a kernel argument baked into the graph. Skips without a GPU.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sq/core/cuda_check.hpp"
#include "sq/core/philox.hpp"
#include "sq/core/tensor.hpp"
#include "sq/quant/pipeline.hpp"
#include "support/gpu.hpp"

namespace {

namespace quant = sq::quant;

TEST(SqGpuGraph, FrozenStageAndRatioChangesReachACapturedGraph) {
  SQ_REQUIRE_GPU();
  const std::vector<quant::SqSegment> segments = {{0, 64, 27}, {64 * 27, 48, 50}};
  const std::int64_t size = 64 * 27 + 48 * 50;
  std::vector<float> weights(static_cast<std::size_t>(size));
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = sq::philox_uniform_at(4, 7, i) - 0.5f;
  quant::SqOptions options;
  options.quantizer = quant::Quantizer::twn;
  options.sampler = quant::Sampler::frozen;
  options.ratio = 0.5;
  options.seed = 3;
  quant::SqPipeline cpu(segments, options, sq::Device::cpu());
  quant::SqPipeline gpu(segments, options, sq::Device::cuda(0));
  const sq::Tensor d_weights = sq::Tensor::from_vector(weights, {size}, sq::Device::cuda(0));
  sq::Tensor d_hybrid({size}, sq::DType::f32, sq::Device::cuda(0));
  sq::Tensor d_step({8}, sq::DType::u8, sq::Device::cuda(0));
  auto* step_ptr = reinterpret_cast<std::uint64_t*>(d_step.raw());

  cudaStream_t stream = nullptr;
  SQ_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const sq::StreamHandle handle = reinterpret_cast<sq::StreamHandle>(stream);
  gpu.run(d_weights.data<float>(), d_hybrid.data<float>(), 0, handle);  // eager first: lazy library setup
  SQ_CUDA_CHECK(cudaStreamSynchronize(stream));
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  SQ_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  gpu.run(d_weights.data<float>(), d_hybrid.data<float>(), 0, handle, step_ptr);
  SQ_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  SQ_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));

  std::vector<std::vector<std::uint8_t>> stage_masks;
  std::vector<float> hybrid_cpu(weights.size());
  std::uint64_t host_step = 0;
  for (int stage = 0; stage < 3; ++stage) {
    gpu.set_stage(stage, handle);
    cpu.set_stage(stage);
    if (stage == 2) {  // a new ratio too: N_q is device memory as well
      gpu.set_ratio(0.75, handle);
      cpu.set_ratio(0.75);
    }
    for (int k = 0; k < 2; ++k) {
      host_step = static_cast<std::uint64_t>(10 * stage + k + 1);
      SQ_CUDA_CHECK(cudaMemcpyAsync(step_ptr, &host_step, sizeof host_step, cudaMemcpyHostToDevice, stream));
      SQ_CUDA_CHECK(cudaGraphLaunch(exec, stream));
      SQ_CUDA_CHECK(cudaStreamSynchronize(stream));
      cpu.run(weights.data(), hybrid_cpu.data(), host_step, nullptr);
      const std::vector<std::uint8_t> mask = gpu.mask_to_host(handle);
      ASSERT_EQ(mask, cpu.mask_to_host(nullptr)) << "stage " << stage << " step " << host_step;
      const std::vector<float> hybrid_gpu = d_hybrid.to_vector<float>();
      for (std::size_t i = 0; i < hybrid_cpu.size(); ++i) {
        ASSERT_NEAR(hybrid_gpu[i], hybrid_cpu[i], 1e-6f * std::fabs(hybrid_cpu[i]) + 1e-30f) << "element " << i;
      }
      if (k == 0) stage_masks.push_back(mask);
      if (k == 1) EXPECT_EQ(mask, stage_masks.back()) << "the frozen draw is kept within a stage";
    }
  }
  EXPECT_NE(stage_masks[0], stage_masks[1]) << "another stage draws another partition";
  (void)cudaGraphExecDestroy(exec);
  (void)cudaGraphDestroy(graph);
  (void)cudaStreamDestroy(stream);
}

}  // namespace
