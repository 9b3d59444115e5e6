// BatchNorm: training normalises with batch statistics, the running statistics follow PyTorch's momentum rule
// (unbiased variance), and evaluation uses them.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "sq/nn/layers.hpp"

namespace {

struct Stats {
  std::vector<double> mean, var;  // var: biased (population)
};

Stats naive_stats(const std::vector<float>& x, int n, int c, int hw) {
  Stats s{std::vector<double>(c, 0.0), std::vector<double>(c, 0.0)};
  for (int ch = 0; ch < c; ++ch) {
    for (int b = 0; b < n; ++b)
      for (int i = 0; i < hw; ++i) s.mean[ch] += x[(b * c + ch) * hw + i];
    s.mean[ch] /= n * hw;
    for (int b = 0; b < n; ++b)
      for (int i = 0; i < hw; ++i) {
        const double d = x[(b * c + ch) * hw + i] - s.mean[ch];
        s.var[ch] += d * d;
      }
    s.var[ch] /= n * hw;
  }
  return s;
}

TEST(BatchNormStats, RunningStatisticsFollowTheMomentumRuleAndEvalUsesThem) {
  const int n = 4, c = 3, h = 3, w = 5, hw = h * w;
  const float momentum = 0.2f, eps = 1e-3f;
  sq::nn::BatchNorm bn("bn", c, momentum, eps);
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  bn.setup({n, c, h, w}, ctx);
  std::vector<sq::nn::Parameter*> params;
  bn.collect_parameters(params);
  sq::nn::ParameterArena arena;
  arena.bind(params, sq::Device::cpu());
  arena.initialise(1);
  bn.gamma().value.copy_from(sq::Tensor::from_vector(std::vector<float>{1.5f, 0.5f, 2.f}, {c}));
  bn.beta().value.copy_from(sq::Tensor::from_vector(std::vector<float>{0.1f, -0.2f, 0.3f}, {c}));
  std::vector<sq::nn::NamedBuffer> buffers;
  bn.collect_buffers(buffers);
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[0].name, "bn.running_mean");
  EXPECT_EQ(buffers[1].name, "bn.running_var");
  EXPECT_EQ(bn.running_mean().to_vector<float>(), std::vector<float>(c, 0.f));
  EXPECT_EQ(bn.running_var().to_vector<float>(), std::vector<float>(c, 1.f));

  std::mt19937 rng(7);
  std::vector<double> rm(c, 0.0), rv(c, 1.0);
  const double count = n * hw;
  for (int step = 0; step < 3; ++step) {
    std::normal_distribution<float> normal(1.f + step, 2.f);  // statistics that move between steps
    std::vector<float> x(static_cast<std::size_t>(n * c * hw));
    for (float& v : x) v = normal(rng);
    ctx.training = true;
    const sq::Tensor xt = sq::Tensor::from_vector(x, {n, c, h, w});
    const std::vector<float> y = bn.forward(xt, ctx).to_vector<float>();
    const Stats s = naive_stats(x, n, c, hw);
    const float gamma[3] = {1.5f, 0.5f, 2.f}, beta[3] = {0.1f, -0.2f, 0.3f};
    for (int ch = 0; ch < c; ++ch) {
      rm[ch] = (1 - momentum) * rm[ch] + momentum * s.mean[ch];
      rv[ch] = (1 - momentum) * rv[ch] + momentum * s.var[ch] * count / (count - 1);
      for (int b = 0; b < n; ++b)
        for (int i = 0; i < hw; ++i) {
          const int k = (b * c + ch) * hw + i;
          const double ref = (x[k] - s.mean[ch]) / std::sqrt(s.var[ch] + eps) * gamma[ch] + beta[ch];
          ASSERT_NEAR(y[k], ref, 1e-4 * (1 + std::fabs(ref)));
        }
    }
    const std::vector<float> got_rm = bn.running_mean().to_vector<float>();
    const std::vector<float> got_rv = bn.running_var().to_vector<float>();
    for (int ch = 0; ch < c; ++ch) {
      EXPECT_NEAR(got_rm[ch], rm[ch], 1e-5 * (1 + std::fabs(rm[ch]))) << "step " << step << " channel " << ch;
      EXPECT_NEAR(got_rv[ch], rv[ch], 1e-5 * (1 + std::fabs(rv[ch]))) << "step " << step << " channel " << ch;
    }
  }

  // Evaluation: running statistics, and the running statistics stay as they are.
  ctx.training = false;
  std::vector<float> x(static_cast<std::size_t>(n * c * hw));
  std::normal_distribution<float> normal(0.f, 1.f);
  for (float& v : x) v = normal(rng);
  const std::vector<float> y = bn.forward(sq::Tensor::from_vector(x, {n, c, h, w}), ctx).to_vector<float>();
  const float gamma[3] = {1.5f, 0.5f, 2.f}, beta[3] = {0.1f, -0.2f, 0.3f};
  for (int k = 0; k < n * c * hw; ++k) {
    const int ch = (k / hw) % c;
    const double ref = (x[k] - rm[ch]) / std::sqrt(rv[ch] + eps) * gamma[ch] + beta[ch];
    ASSERT_NEAR(y[k], ref, 1e-4 * (1 + std::fabs(ref)));
  }
  const std::vector<float> got_rm = bn.running_mean().to_vector<float>();
  for (int ch = 0; ch < c; ++ch) EXPECT_NEAR(got_rm[ch], rm[ch], 1e-5 * (1 + std::fabs(rm[ch])));
}

TEST(BatchNormStats, RunningStatisticsSurviveASecondSetup) {
  sq::nn::BatchNorm bn("bn", 2);
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  bn.setup({4, 2}, ctx);
  bn.running_mean().copy_from(sq::Tensor::from_vector(std::vector<float>{3.f, 4.f}, {2}));
  bn.setup({8, 2}, ctx);  // e.g. a different evaluation batch size
  EXPECT_EQ(bn.running_mean().to_vector<float>(), (std::vector<float>{3.f, 4.f}));
}

}  // namespace
