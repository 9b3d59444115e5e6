// Evaluation at another batch size than training runs on the model's evaluation network (a second set of layers
// over the same parameters and BN statistics): the training setup stays, results equal those of the training
// network set up for that batch, and training after an evaluation is the same as without one.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "sq/core/error.hpp"
#include "sq/core/philox.hpp"
#include "sq/nn/models.hpp"
#include "sq/train/trainer.hpp"

namespace {

using sq::nn::ModelSpec;

sq::quant::SqOptions sq_twn() {
  sq::quant::SqOptions o;
  o.quantizer = sq::quant::Quantizer::twn;
  o.ratio = 0.5;
  o.seed = 5;
  return o;
}

struct Batch {
  sq::Tensor images, labels;
};
Batch make_batch(int n, std::uint64_t seed) {
  std::vector<float> x(static_cast<std::size_t>(n) * 3 * 16 * 16);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 2.f * sq::philox_uniform_at(seed, 0, i) - 1.f;
  std::vector<std::int32_t> y(n);
  for (int i = 0; i < n; ++i) y[i] = (i * 3) % 10;
  return {sq::Tensor::from_vector(x, {n, 3, 16, 16}), sq::Tensor::from_vector(y, {n})};
}

ModelSpec small_spec() {
  ModelSpec spec;
  spec.arch = "small_cnn";
  spec.image_size = 16;
  return spec;
}

// The same model as build_model, but without the rebuild function: evaluation sets the training layers up.
std::unique_ptr<sq::nn::Model> model_without_eval_network(sq::nn::ExecutionContext& ctx) {
  return std::make_unique<sq::nn::Model>(small_spec(), sq::nn::build_architecture(small_spec(), true), sq_twn(), ctx,
                                         9);
}

struct EvalResult {
  float loss;
  std::int64_t correct;
};
EvalResult evaluate(sq::train::Trainer& trainer, const Batch& batch, sq::train::EvalWeights weights) {
  trainer.prepare_eval(weights);
  trainer.eval_batch(batch.images, batch.labels);
  return {trainer.read_loss(), trainer.read_correct()};
}

TEST(EvalNetwork, KeepsTheTrainingSetupAndMatchesTheTrainingNetwork) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  const auto model = sq::nn::build_model(small_spec(), sq_twn(), ctx, 9);
  const auto reference = model_without_eval_network(ctx);
  sq::train::Trainer trainer(*model, ctx), ref_trainer(*reference, ctx);
  const Batch train_batch = make_batch(8, 1), eval_batch = make_batch(6, 2);
  for (int i = 0; i < 3; ++i) {
    trainer.train_step(train_batch.images, train_batch.labels, 0.05f);
    ref_trainer.train_step(train_batch.images, train_batch.labels, 0.05f);
  }
  ASSERT_EQ(model->setup_generation(), 1u);
  for (auto weights : {sq::train::EvalWeights::quantized, sq::train::EvalWeights::hybrid}) {
    for (int pass = 0; pass < 2; ++pass) {
      const EvalResult got = evaluate(trainer, eval_batch, weights);
      const EvalResult want = evaluate(ref_trainer, eval_batch, weights);
      EXPECT_EQ(got.loss, want.loss) << sq::train::to_string(weights) << " pass " << pass;
      EXPECT_EQ(got.correct, want.correct) << sq::train::to_string(weights) << " pass " << pass;
    }
  }
  EXPECT_EQ(model->batch(), 8) << "the training layers stay set up for the training batch";
  EXPECT_EQ(model->setup_generation(), 1u) << "evaluation never sets the training layers up";
  EXPECT_EQ(model->eval_setups(), 1u) << "the evaluation network is set up once for its batch";
  EXPECT_EQ(reference->setup_generation(), 2u) << "without an evaluation network, evaluation sets the layers up";

  // Training goes on exactly as if nothing had been evaluated (the reference went through setups, not weights).
  for (int i = 0; i < 2; ++i) {
    trainer.train_step(train_batch.images, train_batch.labels, 0.05f);
    ref_trainer.train_step(train_batch.images, train_batch.labels, 0.05f);
  }
  EXPECT_EQ(model->arena().values().to_vector<float>(), reference->arena().values().to_vector<float>());
  EXPECT_EQ(trainer.read_loss(), ref_trainer.read_loss()) << "read_loss reads the training loss after a step";
  EXPECT_EQ(model->setup_generation(), 1u);
  EXPECT_EQ(reference->setup_generation(), 3u) << "and training sets them up again";
}

TEST(EvalNetwork, SharesParametersAndRunningStatistics) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  const auto model = sq::nn::build_model(small_spec(), sq_twn(), ctx, 9);
  model->setup(8, ctx);
  const sq::nn::EvalNetwork net = model->eval_network(4, ctx);
  ASSERT_NE(net.root, &model->root());
  std::vector<sq::nn::NamedBuffer> mine, theirs;
  model->root().collect_buffers(mine);
  net.root->collect_buffers(theirs);
  ASSERT_EQ(mine.size(), theirs.size());
  ASSERT_FALSE(mine.empty());
  for (std::size_t i = 0; i < mine.size(); ++i) {
    EXPECT_EQ(mine[i].name, theirs[i].name);
    EXPECT_EQ(mine[i].tensor->raw(), theirs[i].tensor->raw()) << mine[i].name;
  }
  std::vector<sq::nn::Parameter*> p, q;
  model->root().collect_parameters(p);
  net.root->collect_parameters(q);
  ASSERT_EQ(p.size(), q.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    EXPECT_EQ(p[i]->effective.raw(), q[i]->effective.raw()) << p[i]->name;
    EXPECT_EQ(p[i]->value.raw(), q[i]->value.raw()) << p[i]->name;
  }
  // Forward-only: the copy's convolutions have no input-gradient buffers, and say so if asked for a backward.
  const Batch batch = make_batch(4, 3);
  sq::nn::ExecutionContext eval_ctx = ctx;
  eval_ctx.training = false;
  const sq::Tensor& logits = net.root->forward(batch.images, eval_ctx);
  EXPECT_EQ(logits.dim(0), 4);
  EXPECT_FALSE(ctx.forward_only) << "the flag is set for the copy's setup only";
  eval_ctx.training = true;
  net.root->forward(batch.images, eval_ctx);
  const sq::Tensor dlogits = sq::Tensor::zeros(logits.shape(), sq::DType::f32);
  try {
    net.root->backward(dlogits, eval_ctx);
    ADD_FAILURE() << "backward through a forward-only setup did not throw";
  } catch (const sq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("forward-only"), std::string::npos) << e.what();
  }
  // At the training batch the training network itself is used.
  EXPECT_EQ(model->eval_network(8, ctx).root, &model->root());
  EXPECT_EQ(model->eval_setups(), 1u);
  EXPECT_EQ(model->setup_generation(), 1u);
}

// A pass whose last batch is partial (6, 6, 4) sets the copies up the first time only; a third size reuses the
// least recently used copy.
TEST(EvalNetwork, FullAndPartialBatchesKeepTheirOwnCopies) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  const auto model = sq::nn::build_model(small_spec(), sq_twn(), ctx, 9);
  model->setup(8, ctx);
  const sq::nn::EvalNetwork six = model->eval_network(6, ctx);
  const sq::nn::EvalNetwork four = model->eval_network(4, ctx);
  EXPECT_NE(six.root, four.root);
  for (int pass = 0; pass < 3; ++pass) {
    EXPECT_EQ(model->eval_network(6, ctx).root, six.root);
    EXPECT_EQ(model->eval_network(6, ctx).root, six.root);
    EXPECT_EQ(model->eval_network(4, ctx).root, four.root);
  }
  EXPECT_EQ(model->eval_setups(), 2u);
  const sq::nn::EvalNetwork five = model->eval_network(5, ctx);  // replaces the copy for 6 (used longest ago)
  EXPECT_EQ(five.root, six.root);
  EXPECT_EQ(model->eval_network(4, ctx).root, four.root);
  EXPECT_EQ(model->eval_setups(), 3u);
  const Batch batch = make_batch(5, 4);
  sq::nn::ExecutionContext eval_ctx = ctx;
  eval_ctx.training = false;
  EXPECT_EQ(five.root->forward(batch.images, eval_ctx).dim(0), 5);
  EXPECT_EQ(model->setup_generation(), 1u);
}

TEST(EvalNetwork, ResetRunningStatsGivesMeanZeroVarianceOne) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  const auto model = sq::nn::build_model(small_spec(), sq_twn(), ctx, 9);
  sq::train::Trainer trainer(*model, ctx);
  const Batch batch = make_batch(8, 1);
  trainer.train_step(batch.images, batch.labels, 0.05f);
  int means = 0, vars = 0;
  for (const sq::nn::NamedBuffer& b : model->buffers()) {
    const std::vector<float> v = b.tensor->to_vector<float>();
    const bool var = b.name.size() > 12 && b.name.substr(b.name.size() - 12) == ".running_var";
    for (float x : v) EXPECT_NE(x, var ? 1.f : 0.f) << b.name << ": a training step moves every statistic";
  }
  model->reset_running_stats();
  for (const sq::nn::NamedBuffer& b : model->buffers()) {
    const bool var = b.name.size() > 12 && b.name.substr(b.name.size() - 12) == ".running_var";
    (var ? vars : means) += 1;
    for (float x : b.tensor->to_vector<float>()) EXPECT_EQ(x, var ? 1.f : 0.f) << b.name;
  }
  EXPECT_EQ(means, 3);
  EXPECT_EQ(vars, 3);
}

}  // namespace
