// Dropout: the mask is the documented function of (seed, layer name, step, index), reproducible, different across
// steps and layers, keeps about 1 - p, scales kept values by 1 / (1 - p); evaluation is the identity.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sq/core/philox.hpp"
#include "sq/detail/dropout_math.hpp"
#include "sq/nn/layers.hpp"

namespace {

constexpr int kN = 20000;

std::vector<std::uint8_t> run_mask(const std::string& name, float p, std::uint64_t seed, std::uint64_t step,
                                   std::vector<float>* out = nullptr, const std::uint64_t* step_ptr = nullptr) {
  sq::nn::Dropout drop(name, p);
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  ctx.seed = seed;
  ctx.step = step;
  ctx.device_step = step_ptr;
  drop.setup({4, kN / 4}, ctx);
  std::vector<float> x(kN);
  for (int i = 0; i < kN; ++i) x[i] = 1.f + static_cast<float>(i % 7);
  const std::vector<float> y = drop.forward(sq::Tensor::from_vector(x, {4, kN / 4}), ctx).to_vector<float>();
  if (out) *out = y;
  return drop.mask().to_vector<std::uint8_t>();
}

TEST(Dropout, MaskIsTheDocumentedPhiloxFunction) {
  const float p = 0.3f;
  std::vector<float> y;
  const std::vector<std::uint8_t> mask = run_mask("features.drop1", p, 42, 17, &y);
  const std::uint64_t sub = sq::detail::dropout_subsequence(sq::nn::stable_name_hash("features.drop1"), 17);
  int kept = 0;
  for (int i = 0; i < kN; ++i) {
    const bool keep = sq::philox_uniform_at(42, sub, static_cast<std::uint64_t>(i)) > p;
    ASSERT_EQ(mask[i], keep ? 1 : 0) << i;
    const float x = 1.f + static_cast<float>(i % 7);
    ASSERT_EQ(y[i], keep ? x * (1.f / (1.f - p)) : 0.f) << i;
    kept += keep;
  }
  // Binomial(20000, 0.7): standard deviation ~65; allow 5 sigma.
  EXPECT_NEAR(kept, 0.7 * kN, 5 * std::sqrt(kN * 0.7 * 0.3));
}

TEST(Dropout, RaggedSizesFollowTheSameFunction) {
  for (int n : {1, 2, 3, 5, 7, 13}) {
    sq::nn::Dropout drop("ragged", 0.5f);
    auto ctx = sq::nn::make_context(sq::Device::cpu());
    ctx.seed = 9;
    ctx.step = 4;
    drop.setup({1, n}, ctx);
    drop.forward(sq::Tensor::from_vector(std::vector<float>(n, 1.f), {1, n}), ctx);
    const std::vector<std::uint8_t> mask = drop.mask().to_vector<std::uint8_t>();
    const std::uint64_t sub = sq::detail::dropout_subsequence(sq::nn::stable_name_hash("ragged"), 4);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(mask[i], sq::philox_uniform_at(9, sub, static_cast<std::uint64_t>(i)) > 0.5f ? 1 : 0) << n << " " << i;
    }
  }
}

TEST(Dropout, ReproducibleFromTheSeedAndDifferentAcrossStepsLayersAndSeeds) {
  const auto a = run_mask("drop", 0.5f, 1, 10);
  EXPECT_EQ(run_mask("drop", 0.5f, 1, 10), a);
  auto differing = [&](const std::vector<std::uint8_t>& b) {
    int d = 0;
    for (int i = 0; i < kN; ++i) d += a[i] != b[i];
    return d;
  };
  // Independent masks with p = 0.5 differ in about half the positions.
  EXPECT_GT(differing(run_mask("drop", 0.5f, 1, 11)), kN / 3);
  EXPECT_GT(differing(run_mask("drop2", 0.5f, 1, 10)), kN / 3);
  EXPECT_GT(differing(run_mask("drop", 0.5f, 2, 10)), kN / 3);
}

TEST(Dropout, TheStepInMemoryOverridesTheContextStep) {
  const std::uint64_t step = 10;
  EXPECT_EQ(run_mask("drop", 0.5f, 1, 999, nullptr, &step), run_mask("drop", 0.5f, 1, 10));
}

TEST(Dropout, EvaluationIsTheIdentityAndBackwardUsesTheMask) {
  sq::nn::Dropout drop("d", 0.25f);
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  drop.setup({2, 8}, ctx);
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i) - 7.5f;
  const sq::Tensor xt = sq::Tensor::from_vector(x, {2, 8});
  ctx.training = false;
  EXPECT_EQ(drop.forward(xt, ctx).to_vector<float>(), x);
  EXPECT_EQ(drop.backward(xt, ctx).to_vector<float>(), x);
  ctx.training = true;
  drop.forward(xt, ctx);
  const std::vector<std::uint8_t> mask = drop.mask().to_vector<std::uint8_t>();
  const std::vector<float> g =
      drop.backward(sq::Tensor::from_vector(std::vector<float>(16, 3.f), {2, 8}), ctx).to_vector<float>();
  for (int i = 0; i < 16; ++i) EXPECT_EQ(g[i], mask[i] ? 3.f * (1.f / 0.75f) : 0.f);
}

}  // namespace
