// The NCCL gradient all-reduce on one GPU (N = 1): a trainer whose gradients go through NCCL (side stream, events,
// recorded in the CUDA graph from the second step on) gives bit-identical weights and losses to one without it; with
// synchronised BN too (the BN phases and their NCCL all-reduces on the step's stream, in the graph) it equals the step
// without it to the tolerance of the two-pass statistics (tests/emu/test_batchnorm_sync.cpp).
// Multi-GPU equality needs a multi-GPU machine (docs/DISTRIBUTED.md).
#include <gtest/gtest.h>

#include <vector>

#include <algorithm>
#include <cmath>
#include <optional>
#include "sq/config.hpp"
#include "sq/core/philox.hpp"

#include "sq/dist/collective.hpp"
#include "sq/dist/gradient_sync.hpp"
#include "sq/nn/models.hpp"
#include "sq/train/trainer.hpp"
#include "support/gpu.hpp"

namespace {

struct NcclRun {
  std::vector<float> values;
  std::vector<float> losses;
  bool graph = false;
};

NcclRun train(bool nccl, bool sync_bn = false) {
  const sq::Device gpu = sq::Device::cuda(0);
  sq::nn::ExecutionContext ctx = sq::nn::make_context(gpu, sq::nn::MathMode::fp32, /*deterministic=*/true);
  ctx.seed = 4;
  sq::nn::ModelSpec spec;
  spec.arch = "resnet20";
  sq::quant::SqOptions sq;
  sq.quantizer = sq::quant::Quantizer::twn;
  sq.ratio = 0.5;
  sq.seed = 4;
  // Full precision when the runs differ by rounding (sync BN): a selection near a tie could flip under SQ.
  const auto model = sq::nn::build_model(spec, sync_bn ? std::nullopt : std::optional(sq), ctx, 4);
  sq::dist::SelfCollective self;
  std::unique_ptr<sq::dist::GradientSync> sync;
  sq::train::TrainerOptions options;
  if (nccl) {
    // Several buckets; the watchdog on (a healthy step must never trip it).
    sync = sq::dist::make_nccl_gradient_sync(self, gpu, /*bucket_elements=*/50000, /*timeout_s=*/30);
    options.gradient_sync = sync.get();
    if (sync_bn) {
      ctx.sync_bn = &self;
      ctx.device_collective = sync->device_collective();
    }
  }
  sq::train::Trainer trainer(*model, ctx, options);
  std::vector<float> x(8 * 3 * 32 * 32);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 2.f * sq::philox_uniform_at(12, 0, i) - 1.f;
  std::vector<std::int32_t> y(8);
  for (int i = 0; i < 8; ++i) y[i] = i;
  const sq::Tensor images = sq::Tensor::from_vector(x, {8, 3, 32, 32}, gpu);
  const sq::Tensor labels = sq::Tensor::from_vector(y, {8}, gpu);
  NcclRun run;
  for (int s = 0; s < 4; ++s) {
    trainer.train_step(images, labels, 0.05f);
    run.losses.push_back(trainer.read_loss());
  }
  run.graph = trainer.graph_active();
  run.values = model->arena().values().to_vector<float>();
  return run;
}

TEST(DistNccl, OneRankThroughNcclEqualsTheStepWithout) {
  SQ_REQUIRE_GPU();
  if (!sq::dist::nccl_available()) GTEST_SKIP() << "this build has no NCCL (SQ_ENABLE_NCCL, cmake/FindNCCL.cmake)";
  const NcclRun plain = train(false);
  const NcclRun nccl = train(true);
  EXPECT_EQ(nccl.graph, plain.graph) << "the NCCL all-reduce must not stop the step graph";
  EXPECT_EQ(nccl.losses, plain.losses);
  EXPECT_EQ(nccl.values, plain.values);
}

double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    worst = std::max(worst, std::fabs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::fabs(double(a[i])));
  }
  return a.size() == b.size() && scale > 0.0 ? worst / scale : 1.0;
}

TEST(DistNccl, OneRankWithSyncBnThroughNcclEqualsTheStepWithout) {
  SQ_REQUIRE_GPU();
  if (!sq::dist::nccl_available()) GTEST_SKIP() << "this build has no NCCL (SQ_ENABLE_NCCL, cmake/FindNCCL.cmake)";
  const NcclRun plain = train(false, true);
  const NcclRun synced = train(true, true);
  ASSERT_NE(plain.values, synced.values) << "sync BN must run its own (two-pass) kernels, not the fused ones";
  EXPECT_EQ(synced.graph, plain.graph) << "sync BN's all-reduces must not stop the step graph";
  EXPECT_LT(relative_difference(plain.losses, synced.losses), 1e-4);
  EXPECT_LT(relative_difference(plain.values, synced.values), 1e-4);
}

}  // namespace
