// What keeps a recorded training-step graph valid on the GPU: a failed capture falls back to eager steps (logged
// once), an evaluation at another batch size leaves the training setup and its graph alone, and a cuDNN workspace
// grown by another model's setup on the same context makes the trainer record again. Also: cuBLAS follows a
// context's math mode changed after creation. Skips without a GPU.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cuda/cuda_libraries.hpp"
#include "sq/core/cuda_check.hpp"
#include "sq/core/error.hpp"
#include "sq/core/philox.hpp"
#include "sq/nn/linear.hpp"
#include "sq/nn/models.hpp"
#include "sq/train/trainer.hpp"
#include "support/gpu.hpp"

namespace {

using sq::nn::ModelSpec;

sq::quant::SqOptions sq_twn() {
  sq::quant::SqOptions o;
  o.quantizer = sq::quant::Quantizer::twn;
  o.ratio = 0.5;
  o.seed = 21;
  return o;
}

ModelSpec small_spec() {
  ModelSpec spec;
  spec.arch = "small_cnn";
  return spec;
}

struct Batch {
  sq::Tensor images, labels;
};
Batch make_batch(int n, std::uint64_t seed, sq::Device device) {
  std::vector<float> x(static_cast<std::size_t>(n) * 3 * 32 * 32);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 2.f * sq::philox_uniform_at(seed, 0, i) - 1.f;
  std::vector<std::int32_t> y(n);
  for (int i = 0; i < n; ++i) y[i] = (i * 7) % 10;
  return {sq::Tensor::from_vector(x, {n, 3, 32, 32}, device), sq::Tensor::from_vector(y, {n}, device)};
}

std::vector<float> train(bool graph, bool inject, int steps, std::vector<std::string>* logs = nullptr,
                         std::string* failure = nullptr) {
  const sq::Device gpu = sq::Device::cuda(0);
  auto ctx = sq::nn::make_context(gpu, sq::nn::MathMode::fp32, /*deterministic=*/true);
  const auto model = sq::nn::build_model(small_spec(), sq_twn(), ctx, 2);
  sq::train::TrainerOptions options;
  options.use_graph = graph;
  int calls = 0;
  if (logs) options.log = [logs](const std::string& line) { logs->push_back(line); };
  if (inject) {
    // Thrown inside the capture (after cudaStreamBeginCapture), as a failing library call would.
    options.capture_hook_for_testing = [&calls] {
      ++calls;
      SQ_FAIL("injected capture failure");
    };
  }
  sq::train::Trainer trainer(*model, ctx, options);
  const Batch b = make_batch(8, 1, gpu);
  for (int i = 0; i < steps; ++i) trainer.train_step(b.images, b.labels, 0.05f);
  if (inject) EXPECT_EQ(calls, 1) << "the capture is not retried after a failure";
  if (failure) *failure = trainer.graph_failure();
  EXPECT_EQ(trainer.graph_active(), graph && !inject);
  SQ_CUDA_CHECK(cudaDeviceSynchronize());
  return model->arena().values().to_vector<float>();
}

TEST(TrainGpuGraphSafety, FailedCaptureFallsBackToEagerStepsBitForBit) {
  SQ_REQUIRE_GPU();
  std::vector<std::string> logs;
  std::string failure;
  const std::vector<float> eager = train(false, false, 5);
  const std::vector<float> fallback = train(true, true, 5, &logs, &failure);
  const std::vector<float> graph = train(true, false, 5);
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_NE(logs[0].find("eager"), std::string::npos) << logs[0];
  EXPECT_FALSE(failure.empty());
  EXPECT_EQ(fallback, eager) << "every step ran, the failed capture's one eagerly";
  EXPECT_EQ(graph, eager) << "graph replays equal eager steps in deterministic fp32";
}

TEST(TrainGpuGraphSafety, EvaluationAtAnotherBatchKeepsTheGraph) {
  SQ_REQUIRE_GPU();
  const sq::Device gpu = sq::Device::cuda(0);
  auto ctx = sq::nn::make_context(gpu, sq::nn::MathMode::fp32, true);
  const auto model = sq::nn::build_model(small_spec(), sq_twn(), ctx, 2);
  sq::train::Trainer trainer(*model, ctx);
  auto cpu_ctx = sq::nn::make_context(sq::Device::cpu());
  const auto cpu_model = sq::nn::build_model(small_spec(), sq_twn(), cpu_ctx, 2);
  sq::train::Trainer cpu_trainer(*cpu_model, cpu_ctx);
  const Batch b = make_batch(8, 1, gpu), e = make_batch(20, 2, gpu);
  const Batch cb = make_batch(8, 1, sq::Device::cpu()), ce = make_batch(20, 2, sq::Device::cpu());
  for (int i = 0; i < 3; ++i) {
    trainer.train_step(b.images, b.labels, 0.05f);
    cpu_trainer.train_step(cb.images, cb.labels, 0.05f);
  }
  ASSERT_TRUE(trainer.graph_active());
  for (int pass = 0; pass < 3; ++pass) {
    trainer.prepare_eval(sq::train::EvalWeights::quantized);
    trainer.eval_batch(e.images, e.labels);
    cpu_trainer.prepare_eval(sq::train::EvalWeights::quantized);
    cpu_trainer.eval_batch(ce.images, ce.labels);
    EXPECT_NEAR(trainer.read_loss(), cpu_trainer.read_loss(), 1e-3 * std::fabs(cpu_trainer.read_loss()));
    // The first evaluation's setup may grow the cuDNN workspace (one re-capture); later ones set nothing up.
    trainer.train_step(b.images, b.labels, 0.05f);
    if (pass > 0) EXPECT_TRUE(trainer.graph_active()) << "pass " << pass << ": the graph survives the evaluation";
    trainer.train_step(b.images, b.labels, 0.05f);
    EXPECT_TRUE(trainer.graph_active());
    cpu_trainer.train_step(cb.images, cb.labels, 0.05f);
    cpu_trainer.train_step(cb.images, cb.labels, 0.05f);
  }
  EXPECT_EQ(model->setup_generation(), 1u) << "evaluation never sets the training layers up";
  EXPECT_EQ(model->eval_setups(), 1u);
}

TEST(TrainGpuGraphSafety, AWorkspaceGrownByAnotherModelMakesTheTrainerRecordAgain) {
  SQ_REQUIRE_GPU();
  const sq::Device gpu = sq::Device::cuda(0);
  auto ctx = sq::nn::make_context(gpu, sq::nn::MathMode::fp32, true);
  const auto model = sq::nn::build_model(small_spec(), sq_twn(), ctx, 2);
  sq::train::Trainer trainer(*model, ctx);
  const Batch b = make_batch(8, 1, gpu);
  trainer.train_step(b.images, b.labels, 0.05f);
  trainer.train_step(b.images, b.labels, 0.05f);
  ASSERT_TRUE(trainer.graph_active());
  // What a setup of any other model on this context does when its convolutions need more workspace (done
  // directly: whether a given network needs more depends on the algorithms cuDNN picks on the card).
  const std::uint64_t generation = ctx.cuda->workspace_generation;
  ctx.cuda->reserve_workspace(ctx.cuda->workspace.bytes() + (std::size_t(64) << 20));
  ASSERT_EQ(ctx.cuda->workspace_generation, generation + 1);
  trainer.train_step(b.images, b.labels, 0.05f);
  EXPECT_FALSE(trainer.graph_active()) << "the workspace may have moved: this step ran eagerly";
  trainer.train_step(b.images, b.labels, 0.05f);
  EXPECT_TRUE(trainer.graph_active());
  // The same four steps without any graph.
  auto ctx2 = sq::nn::make_context(gpu, sq::nn::MathMode::fp32, true);
  const auto twin = sq::nn::build_model(small_spec(), sq_twn(), ctx2, 2);
  sq::train::TrainerOptions eager;
  eager.use_graph = false;
  sq::train::Trainer twin_trainer(*twin, ctx2, eager);
  for (int i = 0; i < 4; ++i) twin_trainer.train_step(b.images, b.labels, 0.05f);
  SQ_CUDA_CHECK(cudaDeviceSynchronize());
  EXPECT_EQ(model->arena().values().to_vector<float>(), twin->arena().values().to_vector<float>());
}

// ExecutionContext::math is a plain field: a change after make_context() must reach cuBLAS (TF32 vs strict fp32
// differ by about 1e-3 relative on K = 1024 sums; fp32 stays near 1e-6). Large enough for tensor-core kernels.
TEST(ContextGpu, CublasFollowsAMathModeChangedAfterCreation) {
  SQ_REQUIRE_GPU();
  const int n = 256, k = 1024, m = 256;
  auto run = [&](sq::nn::ExecutionContext& ctx) {
    sq::nn::Linear fc("fc", k, m, false, false);
    fc.setup({n, k}, ctx);
    std::vector<sq::nn::Parameter*> params;
    fc.collect_parameters(params);
    sq::nn::ParameterArena arena;
    arena.bind(params, ctx.device);
    arena.initialise(5);
    std::vector<float> x(static_cast<std::size_t>(n) * k);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = 2.f * sq::philox_uniform_at(6, 0, i) - 1.f;
    const sq::Tensor xt = sq::Tensor::from_vector(x, {n, k}, ctx.device);
    const std::vector<float> y = fc.forward(xt, ctx).to_vector<float>();
    return y;
  };
  auto cpu_ctx = sq::nn::make_context(sq::Device::cpu());
  const std::vector<float> want = run(cpu_ctx);
  auto err = [&](const std::vector<float>& got) {
    double d = 0, s = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      d = std::max(d, std::fabs(double(got[i]) - want[i]));
      s = std::max(s, std::fabs(double(want[i])));
    }
    return d / s;
  };
  auto ctx = sq::nn::make_context(sq::Device::cuda(0), sq::nn::MathMode::tf32);
  const double tf32 = err(run(ctx));
  ctx.math = sq::nn::MathMode::fp32;
  const double fp32 = err(run(ctx));
  EXPECT_LT(fp32, 1e-5) << "strict fp32 after the change (tf32 gave " << tf32 << ")";
  EXPECT_GT(tf32, 10 * fp32) << "the TF32 run should be visibly less exact (else the test proves nothing)";
}

}  // namespace
