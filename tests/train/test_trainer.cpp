// The training step on the CPU: a small network overfits a fixed batch (FWN, TWN, SQ-TWN), runs are
// reproducible from the seed, evaluation is deterministic and uses the weights it is asked for.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "sq/core/philox.hpp"
#include "sq/nn/models.hpp"
#include "sq/quant/pipeline.hpp"
#include "sq/train/trainer.hpp"
#include "support/method_weights.hpp"

namespace {

using sq::nn::ModelSpec;

// A fixed batch: Philox images in [-1, 1], labels spread over the classes.
struct Batch {
  sq::Tensor images, labels;
};
Batch make_batch(int n, int channels, int size, int classes, std::uint64_t seed) {
  std::vector<float> x(static_cast<std::size_t>(n) * channels * size * size);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 2.f * sq::philox_uniform_at(seed, 0, i) - 1.f;
  std::vector<std::int32_t> y(n);
  for (int i = 0; i < n; ++i) y[i] = i % classes;
  return {sq::Tensor::from_vector(x, {n, channels, size, size}), sq::Tensor::from_vector(y, {n})};
}

ModelSpec small_spec() {
  ModelSpec spec;
  spec.arch = "small_cnn";
  spec.image_size = 16;
  return spec;
}

struct TrainRun {
  std::vector<float> losses;
  std::vector<float> values;
};

TrainRun train(const std::string& method, int steps, std::uint64_t seed, float lr) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  ctx.seed = seed;
  const auto model = sq::nn::build_model(small_spec(), sq::test::method_weights(method, 5), ctx, seed);
  sq::train::TrainerOptions options;
  options.sgd.weight_decay = 0.f;
  sq::train::Trainer trainer(*model, ctx, options);
  const Batch batch = make_batch(8, 3, 16, 10, 99);
  TrainRun run;
  for (int i = 0; i < steps; ++i) {
    trainer.train_step(batch.images, batch.labels, lr);
    run.losses.push_back(trainer.read_loss());
  }
  EXPECT_EQ(trainer.step(), static_cast<std::uint64_t>(steps));
  run.values = model->arena().values().to_vector<float>();
  return run;
}

class Overfit : public ::testing::TestWithParam<const char*> {};

// Eight random images with eight labels: a network that trains at all memorises them. Bound: loss < 0.05 after 150
// steps, from ln(10) = 2.3 at the start.
TEST_P(Overfit, SmallNetworkFitsAFixedBatch) {
  const TrainRun run = train(GetParam(), 150, 3, 0.05f);
  ASSERT_FALSE(run.losses.empty());
  EXPECT_GT(run.losses.front(), 1.5f);
  float best = run.losses.front();
  for (float l : run.losses) best = std::min(best, l);
  EXPECT_LT(run.losses.back(), 0.05f) << GetParam() << ": first " << run.losses.front() << ", best " << best;
}
INSTANTIATE_TEST_SUITE_P(Train, Overfit, ::testing::Values("fwn", "twn", "sq-twn"));

TEST(Trainer, SameSeedSameWeightsBitForBit) {
  const TrainRun a = train("sq-twn", 6, 11, 0.05f);
  const TrainRun b = train("sq-twn", 6, 11, 0.05f);
  EXPECT_EQ(a.values, b.values);
  EXPECT_EQ(a.losses, b.losses);
  const TrainRun c = train("sq-twn", 6, 12, 0.05f);
  EXPECT_NE(a.values, c.values) << "another seed gives another run";
}

// VGG-9 has dropout: its masks are drawn from (ctx.seed, the trainer's step, layer), so a rerun repeats bit for
// bit and another run seed (same weights) gives another trajectory. Batch 2, two steps: about a second.
TEST(Trainer, Vgg9WithDropoutRepeatsFromTheRunSeed) {
  auto run = [](std::uint64_t run_seed) {
    sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
    ctx.seed = run_seed;
    ModelSpec spec;
    spec.arch = "vgg9";
    const auto model = sq::nn::build_model(spec, sq::test::method_weights("sq-twn", 5), ctx, 1);
    sq::train::Trainer trainer(*model, ctx);
    const Batch batch = make_batch(2, 3, 32, 10, 3);
    for (int i = 0; i < 2; ++i) trainer.train_step(batch.images, batch.labels, 0.01f);
    return model->arena().values().to_vector<float>();
  };
  const std::vector<float> a = run(1);
  EXPECT_EQ(run(1), a);
  EXPECT_NE(run(2), a) << "the run seed drives the dropout masks";
}

TEST(Trainer, EvaluationIsDeterministicAndUsesTheRequestedWeights) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  const auto model = sq::nn::build_model(small_spec(), sq::test::method_weights("sq-twn", 5), ctx, 4);
  sq::train::Trainer trainer(*model, ctx);
  const Batch batch = make_batch(8, 3, 16, 10, 7);
  for (int i = 0; i < 3; ++i) trainer.train_step(batch.images, batch.labels, 0.05f);
  const std::vector<float> values = model->arena().values().to_vector<float>();
  const std::vector<float> master(values.begin(), values.begin() + model->arena().quantized_numel());

  trainer.prepare_eval(sq::train::EvalWeights::quantized);
  const std::vector<float> quantized = model->arena().hybrid().to_vector<float>();
  trainer.eval_batch(batch.images, batch.labels);
  const float loss_q = trainer.read_loss();
  trainer.eval_batch(batch.images, batch.labels);
  EXPECT_EQ(trainer.read_loss(), loss_q) << "eval mode has no randomness";
  EXPECT_NE(quantized, master);
  // Ternary rows: every row holds at most three distinct values {-a, 0, a}.
  for (const auto& seg : model->arena().quantized_segments()) {
    for (std::int64_t r = 0; r < seg.rows; ++r) {
      std::vector<float> distinct;
      for (std::int64_t c = 0; c < seg.cols; ++c) {
        const float v = std::fabs(quantized[seg.offset + r * seg.cols + c]);
        if (std::find(distinct.begin(), distinct.end(), v) == distinct.end()) distinct.push_back(v);
      }
      EXPECT_LE(distinct.size(), 2u) << "row " << r << " of the segment at " << seg.offset;
    }
  }

  trainer.prepare_eval(sq::train::EvalWeights::hybrid);
  const std::vector<float> hybrid1 = model->arena().hybrid().to_vector<float>();
  trainer.prepare_eval(sq::train::EvalWeights::hybrid);
  EXPECT_EQ(model->arena().hybrid().to_vector<float>(), hybrid1) << "the hybrid evaluation draw is fixed";

  trainer.prepare_eval(sq::train::EvalWeights::full_precision);
  EXPECT_EQ(model->arena().hybrid().to_vector<float>(), master);
  EXPECT_EQ(model->arena().values().to_vector<float>(), values) << "evaluation does not touch the master weights";
  EXPECT_THROW(sq::train::parse_eval_weights("fp"), sq::Error);
}

TEST(Trainer, RefusesBatchesThatDoNotFit) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  const auto model = sq::nn::build_model(small_spec(), std::nullopt, ctx, 4);
  sq::train::Trainer trainer(*model, ctx);
  const Batch wrong = make_batch(4, 1, 16, 10, 7);
  EXPECT_THROW(trainer.train_step(wrong.images, wrong.labels, 0.1f), sq::Error);
  EXPECT_THROW(trainer.eval_batch(wrong.images, wrong.labels), sq::Error) << "eval before prepare_eval";
}

}  // namespace
