// SGD with momentum and weight decay: known answers, the host twin against a naive loop, the decay boundary.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "cpu/sgd.hpp"
#include "sq/core/philox.hpp"
#include "sq/nn/parameter.hpp"
#include "sq/train/optimizer.hpp"

namespace {

TEST(Sgd, KnownAnswerTwoSteps) {
  // w=1, v=0, g=0.5, lr=0.1, mu=0.9, wd=0.01:
  // step 1: d = 0.51, v = 0.51, w = 0.949;  step 2: d = 0.50949, v = 0.96849, w = 0.852151.
  float w = 1.f, v = 0.f;
  const float g = 0.5f;
  sq::cpu::sgd_momentum_update(&w, &v, &g, 1, 1, 0.1f, 0.9f, 0.01f);
  EXPECT_NEAR(v, 0.51f, 1e-7);
  EXPECT_NEAR(w, 0.949f, 1e-7);
  sq::cpu::sgd_momentum_update(&w, &v, &g, 1, 1, 0.1f, 0.9f, 0.01f);
  EXPECT_NEAR(v, 0.96849f, 1e-6);
  EXPECT_NEAR(w, 0.852151f, 1e-6);
}

TEST(Sgd, NoDecayPastDecayedEnd) {
  std::vector<float> w = {2.f, 2.f}, v = {0.f, 0.f};
  const std::vector<float> g = {0.f, 0.f};
  sq::cpu::sgd_momentum_update(w.data(), v.data(), g.data(), 2, 1, 0.5f, 0.9f, 0.1f);
  EXPECT_FLOAT_EQ(w[0], 2.f - 0.5f * 0.2f) << "decayed element shrinks by lr * wd * w";
  EXPECT_EQ(w[1], 2.f) << "element past decayed_end has no decay and no gradient: unchanged";
  EXPECT_EQ(v[1], 0.f);
}

// The twin against an independent float loop (same formula, bit for bit) and a double reference (tolerance),
// over many steps with random gradients and a ragged decay boundary.
TEST(Sgd, TwinMatchesNaiveLoopOverManySteps) {
  const std::int64_t n = 1237, decayed_end = 1000;
  const float lr = 0.05f, mu = 0.9f, wd = 5e-4f;
  std::vector<float> w(n), v(n, 0.f), g(n), w_ref(n), v_ref(n, 0.f);
  std::vector<double> w_dbl(n), v_dbl(n, 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    w[i] = w_ref[i] = 2.f * sq::philox_uniform_at(11, 0, i) - 1.f;
    w_dbl[i] = w[i];
  }
  for (int step = 0; step < 20; ++step) {
    for (std::int64_t i = 0; i < n; ++i) g[i] = sq::philox_uniform_at(11, 1 + step, i) - 0.5f;
    sq::cpu::sgd_momentum_update(w.data(), v.data(), g.data(), n, decayed_end, lr, mu, wd);
    for (std::int64_t i = 0; i < n; ++i) {
      const float decay = i < decayed_end ? wd : 0.f;
      const float d = g[i] + decay * w_ref[i];
      v_ref[i] = mu * v_ref[i] + d;
      w_ref[i] = w_ref[i] - lr * v_ref[i];
      const double dd = double(g[i]) + double(decay) * w_dbl[i];
      v_dbl[i] = double(mu) * v_dbl[i] + dd;
      w_dbl[i] = w_dbl[i] - double(lr) * v_dbl[i];
    }
  }
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(w[i], w_ref[i]) << "element " << i;
    ASSERT_EQ(v[i], v_ref[i]) << "element " << i;
    ASSERT_NEAR(w[i], w_dbl[i], 1e-5) << "element " << i;
  }
}

TEST(Sgd, OptimiserUpdatesTheWholeArenaAndResets) {
  sq::nn::Parameter conv{"conv.weight", {2, 3}, sq::nn::ParamInit::ones, true, true, {}, {}, {}};
  sq::nn::Parameter fc{"fc.weight", {2, 2}, sq::nn::ParamInit::ones, true, false, {}, {}, {}};
  sq::nn::Parameter beta{"bn.beta", {2}, sq::nn::ParamInit::ones, false, false, {}, {}, {}};
  sq::nn::ParameterArena arena;
  arena.bind({&beta, &fc, &conv}, sq::Device::cpu());
  arena.initialise(1);
  ASSERT_EQ(arena.decayed_end(), 10);
  std::vector<float> grads(12, 1.f);
  arena.grads().copy_from(sq::Tensor::from_vector(grads, {12}));
  sq::train::Sgd sgd(arena, {0.9f, 0.1f});
  sgd.step(0.5f, nullptr);
  const std::vector<float> after = arena.values().to_vector<float>();
  for (int i = 0; i < 10; ++i) EXPECT_FLOAT_EQ(after[i], 1.f - 0.5f * 1.1f) << "decayed element " << i;
  for (int i = 10; i < 12; ++i) EXPECT_FLOAT_EQ(after[i], 1.f - 0.5f * 1.f) << "non-decayed element " << i;
  EXPECT_FLOAT_EQ(conv.value.to_vector<float>()[0], after[0]) << "parameters see the update through their views";
  // A device-lr step on the CPU reads the host pointer; it must equal the by-value step.
  const float lr = 0.5f;
  std::vector<float> velocity = sgd.velocity().to_vector<float>();
  sgd.step_device_lr(&lr, nullptr);
  const std::vector<float> second = arena.values().to_vector<float>();
  std::vector<float> expected = after;
  sq::cpu::sgd_momentum_update(expected.data(), velocity.data(), grads.data(), 12, 10, 0.5f, 0.9f, 0.1f);
  EXPECT_EQ(second, expected);
  sgd.reset(nullptr);
  EXPECT_EQ(sgd.velocity().to_vector<float>(), std::vector<float>(12, 0.f));
}

TEST(Sgd, RejectsNegativeSettings) {
  sq::nn::Parameter w{"w", {2, 2}, sq::nn::ParamInit::ones, true, false, {}, {}, {}};
  sq::nn::ParameterArena arena;
  arena.bind({&w}, sq::Device::cpu());
  EXPECT_THROW(sq::train::Sgd(arena, {-0.1f, 0.f}), sq::Error);
}

}  // namespace
