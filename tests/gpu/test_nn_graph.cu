// The layer contract on the GPU: a whole forward + loss + backward of a small net can be captured as one CUDA
// graph (capture fails on any allocation or host sync), and replays equal eager runs bit for bit, reading the
// dropout step from device memory. Skips without a GPU.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "sq/core/cuda_check.hpp"
#include "sq/nn/layers.hpp"
#include "support/gpu.hpp"

namespace {

TEST(NnGpuGraph, CapturedStepReplaysTheEagerStepBitForBit) {
  SQ_REQUIRE_GPU();
  auto ctx = sq::nn::make_context(sq::Device::cuda(0), sq::nn::MathMode::fp32, /*deterministic=*/true);
  const sq::Device dev = ctx.device;
  sq::nn::Sequential net("net");
  net.emplace<sq::nn::Conv2d>("net.conv", 3, 16, 3, 1, 1, false, true);
  net.emplace<sq::nn::BatchNorm>("net.bn", 16);
  net.emplace<sq::nn::ReLU>();
  net.emplace<sq::nn::MaxPool2d>(2, 2);
  net.emplace<sq::nn::Dropout>("net.drop", 0.25f);
  net.emplace<sq::nn::BasicBlock>("net.block", 16, 32, 2, true);
  net.emplace<sq::nn::GlobalAvgPool>();
  net.emplace<sq::nn::Flatten>();
  net.emplace<sq::nn::Linear>("net.fc", 32, 10, true, true);
  const int batch = 32;
  ASSERT_EQ(net.setup({batch, 3, 16, 16}, ctx), (sq::Shape{batch, 10}));
  sq::nn::SoftmaxCrossEntropy loss;
  loss.setup(batch, 10, ctx);
  std::vector<sq::nn::Parameter*> params;
  net.collect_parameters(params);
  sq::nn::ParameterArena arena;
  arena.bind(params, dev);
  arena.initialise(3);

  std::mt19937 rng(8);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> x(batch * 3 * 16 * 16);
  for (float& v : x) v = normal(rng);
  std::vector<std::int32_t> labels(batch);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng() % 10);
  const sq::Tensor d_x = sq::Tensor::from_vector(x, {batch, 3, 16, 16}, dev);
  const sq::Tensor d_labels = sq::Tensor::from_vector(labels, {batch}, dev);
  sq::Tensor d_step({8}, sq::DType::u8, dev);
  ctx.device_step = static_cast<const std::uint64_t*>(d_step.raw());
  ctx.training = true;
  const cudaStream_t stream = ctx.stream;
  auto set_step = [&](std::uint64_t step) {
    SQ_CUDA_CHECK(cudaMemcpyAsync(d_step.raw(), &step, sizeof(step), cudaMemcpyHostToDevice, stream));
    SQ_CUDA_CHECK(cudaStreamSynchronize(stream));
  };
  auto step = [&] {
    loss.forward(net.forward(d_x, ctx), d_labels, ctx);
    net.backward(loss.backward(ctx), ctx);
  };

  set_step(5);
  step();
  SQ_CUDA_CHECK(cudaStreamSynchronize(stream));
  const float eager_loss = loss.read_loss();
  const std::vector<float> eager_grads = arena.grads().to_vector<float>();

  cudaGraph_t graph = nullptr;
  SQ_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  step();
  SQ_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  cudaGraphExec_t exec = nullptr;
  SQ_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));

  SQ_CUDA_CHECK(cudaMemset(arena.grads().raw(), 0xFF, arena.grads().bytes()));  // poison
  SQ_CUDA_CHECK(cudaDeviceSynchronize());
  SQ_CUDA_CHECK(cudaGraphLaunch(exec, stream));
  EXPECT_EQ(loss.read_loss(), eager_loss);
  EXPECT_EQ(arena.grads().to_vector<float>(), eager_grads);

  set_step(6);  // a new dropout mask, read by the graph from device memory
  SQ_CUDA_CHECK(cudaGraphLaunch(exec, stream));
  EXPECT_NE(loss.read_loss(), eager_loss);

  SQ_CUDA_CHECK(cudaGraphExecDestroy(exec));
  SQ_CUDA_CHECK(cudaGraphDestroy(graph));
}

}  // namespace
