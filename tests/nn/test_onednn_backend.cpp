// The CPU's oneDNN backend (--cpu-conv onednn) against the reference im2col + OpenBLAS path: Conv2d forward,
// backward-data, backward-weights (and bias) and Linear's three products agree to fp32 rounding on ragged shapes
// (channel counts off oneDNN's 16-lane blocks, strides, padding, 1x1); oneDNN runs are bit-for-bit repeatable; one
// whole training step agrees between the two backends.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "sq/config.hpp"
#include "sq/nn/layers.hpp"
#include "sq/nn/models.hpp"
#include "sq/train/trainer.hpp"

namespace {

using sq::nn::CpuConv;

std::vector<float> random_vector(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

#define SQ_SKIP_WITHOUT_ONEDNN() \
  if (!SQ_WITH_ONEDNN) GTEST_SKIP() << "this build has no oneDNN (libdnnl-dev not found or SQ_ENABLE_ONEDNN=OFF)"

// |a - b| <= tol * max(1, max |reference|) for every element: fp32 rounding of sums in another order, while a
// wrong layout, offset or missing term gives errors of the values' own size.
void expect_close(const std::vector<float>& onednn, const std::vector<float>& reference, double tol,
                  const std::string& what) {
  ASSERT_EQ(onednn.size(), reference.size()) << what;
  double scale = 1.0, worst = 0.0;
  for (float r : reference) scale = std::max(scale, double(std::fabs(r)));
  for (std::size_t i = 0; i < reference.size(); ++i) {
    ASSERT_TRUE(std::isfinite(onednn[i])) << what << " element " << i;
    worst = std::max(worst, std::fabs(double(onednn[i]) - reference[i]));
  }
  EXPECT_LE(worst, tol * scale) << what << ": max difference " << worst << " at scale " << scale;
}

struct ConvCase {
  int n, c, h, w, o, k, s, p;
  bool bias;
};

struct ConvResult {
  std::vector<float> y, dx, dw, db;
};

ConvResult run_conv(const ConvCase& cc, CpuConv backend) {
  sq::nn::Conv2d conv("conv", cc.c, cc.o, cc.k, cc.s, cc.p, cc.bias, false);
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  ctx.cpu_conv = backend;
  const sq::Shape out = conv.setup({cc.n, cc.c, cc.h, cc.w}, ctx);
  std::vector<sq::nn::Parameter*> params;
  conv.collect_parameters(params);
  sq::nn::ParameterArena arena;
  arena.bind(params, sq::Device::cpu());
  arena.initialise(3);
  if (cc.bias) conv.bias()->value.copy_from(sq::Tensor::from_vector(random_vector(cc.o, 8), {cc.o}));
  const sq::Tensor x =
      sq::Tensor::from_vector(random_vector(std::size_t(cc.n) * cc.c * cc.h * cc.w, 4), {cc.n, cc.c, cc.h, cc.w});
  ConvResult r;
  r.y = conv.forward(x, ctx).to_vector<float>();
  const sq::Tensor dy = sq::Tensor::from_vector(random_vector(r.y.size(), 9), out);
  r.dx = conv.backward(dy, ctx).to_vector<float>();
  r.dw = conv.weight().grad.to_vector<float>();
  if (cc.bias) r.db = conv.bias()->grad.to_vector<float>();
  return r;
}

class OnednnConv : public ::testing::TestWithParam<ConvCase> {};

TEST_P(OnednnConv, MatchesTheReferenceForwardAndBothBackwards) {
  SQ_SKIP_WITHOUT_ONEDNN();
  const ConvCase cc = GetParam();
  const ConvResult ref = run_conv(cc, CpuConv::reference), dnn = run_conv(cc, CpuConv::onednn);
  expect_close(dnn.y, ref.y, 1e-5, "forward y");
  expect_close(dnn.dx, ref.dx, 1e-5, "backward-data dx");
  expect_close(dnn.dw, ref.dw, 1e-5, "backward-weights dW");
  if (cc.bias) expect_close(dnn.db, ref.db, 1e-5, "bias gradient");
}

TEST_P(OnednnConv, IsBitForBitRepeatable) {
  SQ_SKIP_WITHOUT_ONEDNN();
  const ConvResult a = run_conv(GetParam(), CpuConv::onednn), b = run_conv(GetParam(), CpuConv::onednn);
  EXPECT_EQ(a.y, b.y);
  EXPECT_EQ(a.dx, b.dx);
  EXPECT_EQ(a.dw, b.dw);
  EXPECT_EQ(a.db, b.db);
}

INSTANTIATE_TEST_SUITE_P(Shapes, OnednnConv,
                         ::testing::Values(ConvCase{2, 3, 8, 8, 16, 3, 1, 1, false},    // first layer (3 channels)
                                           ConvCase{3, 16, 9, 7, 32, 3, 2, 1, false},   // blocked, stride 2, odd
                                           ConvCase{2, 32, 8, 8, 64, 1, 2, 0, false},   // 1x1 shortcut
                                           ConvCase{2, 5, 7, 9, 17, 3, 1, 1, true},     // ragged, bias
                                           ConvCase{1, 20, 6, 6, 12, 5, 1, 2, true},    // 5x5
                                           ConvCase{4, 64, 4, 4, 64, 3, 1, 1, false}),  // VGG-like tail
                         [](const ::testing::TestParamInfo<ConvCase>& info) {
                           const ConvCase& c = info.param;
                           return "n" + std::to_string(c.n) + "c" + std::to_string(c.c) + "o" + std::to_string(c.o) +
                                  "k" + std::to_string(c.k) + "s" + std::to_string(c.s) + (c.bias ? "bias" : "");
                         });

TEST(OnednnLinear, MatchesTheReferenceForwardAndBothBackwards) {
  SQ_SKIP_WITHOUT_ONEDNN();
  const int batch = 5, in = 37, out = 11;
  std::vector<float> result[2][4];
  for (int b = 0; b < 2; ++b) {
    sq::nn::Linear fc("fc", in, out, true, false);
    auto ctx = sq::nn::make_context(sq::Device::cpu());
    ctx.cpu_conv = b == 0 ? CpuConv::reference : CpuConv::onednn;
    fc.setup({batch, in}, ctx);
    std::vector<sq::nn::Parameter*> params;
    fc.collect_parameters(params);
    sq::nn::ParameterArena arena;
    arena.bind(params, sq::Device::cpu());
    arena.initialise(5);
    fc.bias()->value.copy_from(sq::Tensor::from_vector(random_vector(out, 2), {out}));
    const sq::Tensor x = sq::Tensor::from_vector(random_vector(std::size_t(batch) * in, 6), {batch, in});
    result[b][0] = fc.forward(x, ctx).to_vector<float>();
    const sq::Tensor dy = sq::Tensor::from_vector(random_vector(std::size_t(batch) * out, 7), {batch, out});
    result[b][1] = fc.backward(dy, ctx).to_vector<float>();
    result[b][2] = fc.weight().grad.to_vector<float>();
    result[b][3] = fc.bias()->grad.to_vector<float>();
  }
  const char* names[] = {"y", "dx", "dW", "db"};
  for (int i = 0; i < 4; ++i) expect_close(result[1][i], result[0][i], 1e-5, names[i]);
}

// One SGD step of small_cnn from the same weights and batch: the losses agree to fp32 rounding and the weight
// updates to a relative error far below what any wrong gradient would give.
TEST(OnednnTrainingStep, AgreesWithTheReferenceStep) {
  SQ_SKIP_WITHOUT_ONEDNN();
  float loss[2];
  std::vector<float> update[2];
  for (int b = 0; b < 2; ++b) {
    auto ctx = sq::nn::make_context(sq::Device::cpu());
    ctx.cpu_conv = b == 0 ? CpuConv::reference : CpuConv::onednn;
    sq::nn::ModelSpec spec;
    spec.arch = "small_cnn";
    spec.in_channels = 1;
    spec.image_size = 28;
    auto model = sq::nn::build_model(spec, std::nullopt, ctx, 7);
    sq::train::Trainer trainer(*model, ctx, sq::train::TrainerOptions{});
    const int n = 8;
    const sq::Tensor images = sq::Tensor::from_vector(random_vector(std::size_t(n) * 28 * 28, 12), {n, 1, 28, 28});
    std::vector<std::int32_t> labels(n);
    for (int i = 0; i < n; ++i) labels[std::size_t(i)] = i % 10;
    const sq::Tensor label_tensor = sq::Tensor::from_vector(labels, {n});
    const std::vector<float> before = model->arena().values().to_vector<float>();
    trainer.train_step(images, label_tensor, 0.1f);
    loss[b] = trainer.read_loss();
    update[b] = model->arena().values().to_vector<float>();
    for (std::size_t i = 0; i < before.size(); ++i) update[b][i] -= before[i];
  }
  EXPECT_NEAR(loss[1], loss[0], 1e-5 * std::fabs(loss[0]));
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < update[0].size(); ++i) {
    diff += std::pow(double(update[1][i]) - update[0][i], 2);
    norm += std::pow(double(update[0][i]), 2);
  }
  ASSERT_GT(norm, 0.0);
  EXPECT_LT(std::sqrt(diff / norm), 1e-4);
}

TEST(CpuConvNames, ParseAndRefuseWithTheChoices) {
  EXPECT_EQ(sq::nn::parse_cpu_conv("reference"), CpuConv::reference);
  EXPECT_STREQ(sq::nn::cpu_conv_name(CpuConv::onednn), "onednn");
  try {
    sq::nn::parse_cpu_conv("mkl");
    FAIL() << "expected sq::Error";
  } catch (const sq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("reference"), std::string::npos) << e.what();
  }
  if (SQ_WITH_ONEDNN) {
    EXPECT_EQ(sq::nn::parse_cpu_conv("onednn"), CpuConv::onednn);
    EXPECT_EQ(sq::nn::default_cpu_conv(), CpuConv::onednn);
  } else {
    EXPECT_THROW(sq::nn::parse_cpu_conv("onednn"), sq::Error);
  }
}

}  // namespace
