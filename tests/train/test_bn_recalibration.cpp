// BN recalibration (Trainer::recalibrate_bn) on the CPU: the running statistics become the plain average of the
// per-batch statistics for the evaluation weights; an evaluation with recalibration restores the training ones;
// Dropout is the identity when the context turns it off.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "sq/data/batch_loader.hpp"
#include "sq/nn/batchnorm.hpp"
#include "sq/nn/dropout.hpp"
#include "sq/nn/models.hpp"
#include "sq/nn/sequential.hpp"
#include "sq/quant/options.hpp"
#include "sq/train/run_config.hpp"
#include "sq/train/trainer.hpp"
#include "support/random_dataset.hpp"
#include "train/runner_support.hpp"

namespace {

constexpr int kBatch = 8;

struct Rig {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  sq::data::Dataset data = sq::test::random_dataset(40, 3, 16, 16, 10, 7);  // 5 batches of 8 per epoch
  sq::data::Normalization norm = sq::data::compute_normalization(data);
  std::unique_ptr<sq::nn::Model> model;

  Rig() {
    ctx.seed = 3;
    sq::nn::ModelSpec spec;
    spec.arch = "small_cnn";
    spec.image_size = 16;
    sq::quant::SqOptions o;
    o.quantizer = sq::quant::Quantizer::twn;
    o.ratio = 0.5;
    o.seed = 5;
    model = sq::nn::build_model(spec, o, ctx, 3);
  }
  sq::data::BatchLoader loader(int batch, std::uint64_t seed) {
    sq::data::AugmentOptions a;
    a.out_height = a.out_width = 16;
    return sq::data::BatchLoader(data, sq::Device::cpu(), a, norm, batch, seed, /*shuffle=*/true);
  }
};

struct Stats {
  std::vector<double> mean, var;  // var: unbiased, as the running variance keeps it
};

// Forward through (nested) Sequentials one module at a time, recording each BatchNorm's input statistics in
// double; BN momentum 0 so the running statistics stay as they are.
const sq::Tensor& walk(sq::nn::Module& m, const sq::Tensor& x, sq::nn::ExecutionContext& ctx,
                       std::map<std::string, Stats>& out) {
  if (auto* seq = dynamic_cast<sq::nn::Sequential*>(&m)) {
    const sq::Tensor* h = &x;
    for (std::size_t i = 0; i < seq->size(); ++i) h = &walk((*seq)[i], *h, ctx, out);
    return *h;
  }
  if (auto* bn = dynamic_cast<sq::nn::BatchNorm*>(&m)) {
    const std::int64_t n = x.dim(0), c = x.dim(1), hw = x.numel() / (n * c);
    const float* p = x.data<float>();
    Stats s;
    for (std::int64_t ch = 0; ch < c; ++ch) {
      double sum = 0, sq = 0;
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < hw; ++j) sum += p[(i * c + ch) * hw + j];
      const double mean = sum / double(n * hw);
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < hw; ++j)
          sq += (p[(i * c + ch) * hw + j] - mean) * (p[(i * c + ch) * hw + j] - mean);
      s.mean.push_back(mean);
      s.var.push_back(sq / double(n * hw - 1));
    }
    out[bn->name() + ".running_mean"] = s;
  }
  return m.forward(x, ctx);
}

TEST(BnRecalibration, RunningStatisticsAreThePlainAverageOfTheBatchStatistics) {
  Rig s;
  sq::train::Trainer trainer(*s.model, s.ctx);
  sq::data::BatchLoader train = s.loader(kBatch, 1);
  train.start_epoch(0);
  for (int i = 0; i < 4; ++i) {  // move the running statistics away from (0, 1)
    const sq::data::Batch* b = train.next();
    trainer.train_step(b->images, b->labels, 0.05f);
  }
  trainer.prepare_eval(sq::train::EvalWeights::hybrid);

  // Naive: 7 batches of the recalibration loader (epoch 0's five, then two of epoch 1), eval weights written.
  constexpr int kBatches = 7;
  sq::data::BatchLoader recal = s.loader(kBatch, 11);
  std::map<std::string, std::vector<Stats>> per_batch;
  s.ctx.bn_momentum = 0.f;
  std::uint64_t epoch = 0;
  recal.start_epoch(epoch);
  for (int k = 0; k < kBatches; ++k) {
    const sq::data::Batch* b = recal.next();
    if (!b) {
      recal.start_epoch(++epoch);
      b = recal.next();
    }
    ASSERT_NE(b, nullptr);
    std::map<std::string, Stats> stats;
    walk(s.model->root(), b->images, s.ctx, stats);
    for (auto& [name, st] : stats) per_batch[name].push_back(st);
  }
  s.ctx.bn_momentum = -1.f;
  ASSERT_EQ(per_batch.size(), 3u) << "small_cnn has three BatchNorm layers";

  trainer.recalibrate_bn(recal, kBatches);
  EXPECT_EQ(s.ctx.bn_momentum, -1.f) << "the context's BN momentum is put back";
  EXPECT_TRUE(s.ctx.dropout);
  const std::vector<sq::nn::NamedBuffer> buffers = s.model->buffers();
  int checked = 0;
  for (std::size_t i = 0; i + 1 < buffers.size(); i += 2) {
    const std::string& name = buffers[i].name;
    ASSERT_TRUE(per_batch.count(name)) << name;
    const std::vector<Stats>& batches = per_batch[name];
    ASSERT_EQ(batches.size(), static_cast<std::size_t>(kBatches));
    const std::vector<float> mean = buffers[i].tensor->to_vector<float>();
    const std::vector<float> var = buffers[i + 1].tensor->to_vector<float>();
    for (std::size_t ch = 0; ch < mean.size(); ++ch) {
      double m = 0, v = 0;
      for (const Stats& b : batches) {
        m += b.mean[ch] / kBatches;
        v += b.var[ch] / kBatches;
      }
      EXPECT_NEAR(mean[ch], m, 1e-4 * (1 + std::fabs(m))) << name << " channel " << ch;
      EXPECT_NEAR(var[ch], v, 1e-4 * (1 + std::fabs(v))) << buffers[i + 1].name << " channel " << ch;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 8 + 16 + 32);
}

TEST(BnRecalibration, EvaluationRestoresTheTrainingStatisticsAndUsesRecalibratedOnes) {
  Rig s;
  sq::train::Trainer trainer(*s.model, s.ctx);
  sq::data::BatchLoader train = s.loader(kBatch, 1);
  train.start_epoch(0);
  for (int i = 0; i < 4; ++i) {
    const sq::data::Batch* b = train.next();
    trainer.train_step(b->images, b->labels, 0.05f);
  }
  std::vector<std::vector<float>> before;
  for (const sq::nn::NamedBuffer& b : s.model->buffers()) before.push_back(b.tensor->to_vector<float>());
  sq::data::BatchLoader test(
      s.data, sq::Device::cpu(),
      [] {
        sq::data::AugmentOptions a;
        a.out_height = a.out_width = 16;
        return a;
      }(),
      s.norm, 20, 0, /*shuffle=*/false);
  sq::data::BatchLoader recal = s.loader(kBatch, 11);
  namespace td = sq::train::detail;
  const td::EvalResult plain = td::evaluate(trainer, test, sq::train::EvalWeights::hybrid);
  const td::EvalResult with = td::evaluate(trainer, test, sq::train::EvalWeights::hybrid, &recal, 5);
  const td::EvalResult again = td::evaluate(trainer, test, sq::train::EvalWeights::hybrid, &recal, 5);
  const std::vector<sq::nn::NamedBuffer> after = s.model->buffers();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    const std::vector<float> v = after[i].tensor->to_vector<float>();
    EXPECT_EQ(std::memcmp(v.data(), before[i].data(), v.size() * sizeof(float)), 0) << after[i].name << " restored";
  }
  EXPECT_NE(plain.loss, with.loss) << "the recalibrated statistics are used in the test pass";
  EXPECT_EQ(with.loss, again.loss) << "recalibration is deterministic (fixed loader epoch)";
  // Training continues from the restored state.
  const sq::data::Batch* b = train.next();
  ASSERT_NE(b, nullptr);
  trainer.train_step(b->images, b->labels, 0.05f);
  EXPECT_TRUE(std::isfinite(trainer.read_loss()));
}

TEST(BnRecalibration, RecalibrationNeedsPreparedWeights) {
  Rig s;
  sq::train::Trainer trainer(*s.model, s.ctx);
  sq::data::BatchLoader recal = s.loader(kBatch, 11);
  EXPECT_THROW(trainer.recalibrate_bn(recal, 3), sq::Error);
}

TEST(BnRecalibration, DropoutIsTheIdentityWhenTheContextTurnsItOff) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  sq::nn::Dropout d("drop", 0.5f);
  d.setup({4, 16}, ctx);
  std::vector<float> x(64, 1.f);
  const sq::Tensor in = sq::Tensor::from_vector(x, {4, 16});
  ctx.training = true;
  ctx.dropout = false;
  EXPECT_EQ(d.forward(in, ctx).to_vector<float>(), x);
  ctx.dropout = true;
  EXPECT_NE(d.forward(in, ctx).to_vector<float>(), x) << "p = 0.5 drops some of 64 values in training";
}

TEST(BnRecalibration, OptionIsReadValidatedAndExplained) {
  sq::train::RunConfig c;
  EXPECT_EQ(c.run.bn_recalibrate_batches, 32) << "on by default";
  c.run.bn_recalibrate_batches = 0;
  EXPECT_NO_THROW(c.validate("test")) << "0 turns it off";
  EXPECT_EQ(sq::train::RunConfig::from_json(c.to_json(), "test").run.bn_recalibrate_batches, 0);
  c.run.bn_recalibrate_batches = -1;
  try {
    c.validate("test");
    ADD_FAILURE() << "a negative count must be refused";
  } catch (const sq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("run.bn_recalibrate_batches"), std::string::npos) << e.what();
  }
  sq::train::CommandLine cl;
  std::vector<const char*> args = {"train_cifar", "--bn-recalibrate-batches", "5"};
  std::ostringstream out, err;
  ASSERT_EQ(cl.parse(static_cast<int>(args.size()), args.data(), out, err), -1) << err.str();
  sq::train::RunConfig d;
  cl.apply_overrides(d);
  EXPECT_EQ(d.run.bn_recalibrate_batches, 5);
  sq::train::CommandLine help;
  std::vector<const char*> h = {"train_cifar", "--help"};
  std::ostringstream hout, herr;
  EXPECT_EQ(help.parse(static_cast<int>(h.size()), h.data(), hout, herr), 0);
  EXPECT_NE(hout.str().find("--bn-recalibrate-batches"), std::string::npos);
}

}  // namespace
