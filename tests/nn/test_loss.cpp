// SoftmaxCrossEntropy: known answers (loss, accuracy with first-maximum ties), gradient by finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "sq/nn/loss.hpp"

namespace {

TEST(SoftmaxCrossEntropy, KnownAnswer) {
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  sq::nn::SoftmaxCrossEntropy loss;
  loss.setup(3, 3, ctx);
  // Row 2 is a tie: the first maximum (class 0) is the prediction, so label 1 is wrong.
  const std::vector<float> z = {1.f, 2.f, 3.f, 1.f, 1.f, 1.f, 5.f, -1.f, 0.f};
  const std::vector<std::int32_t> labels = {2, 1, 0};
  loss.forward(sq::Tensor::from_vector(z, {3, 3}), sq::Tensor::from_vector(labels, {3}), ctx);
  double expected = 0;
  for (int r = 0; r < 3; ++r) {
    double s = 0;
    for (int k = 0; k < 3; ++k) s += std::exp(double(z[r * 3 + k]));
    expected += std::log(s) - z[r * 3 + labels[r]];
  }
  expected /= 3;
  EXPECT_NEAR(loss.read_loss(), expected, 1e-6);
  EXPECT_EQ(loss.read_correct(), 2);
  const std::vector<float> g = loss.backward(ctx).to_vector<float>();
  double s0 = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(g[2], (std::exp(3.0) / s0 - 1) / 3, 1e-7);
  EXPECT_NEAR(g[4], (1.0 / 3 - 1) / 3, 1e-7);
}

TEST(SoftmaxCrossEntropy, GradientMatchesFiniteDifferences) {
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  const int n = 5, k = 7;
  sq::nn::SoftmaxCrossEntropy loss;
  loss.setup(n, k, ctx);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.f, 2.f);
  std::vector<float> z(n * k);
  for (float& v : z) v = normal(rng);
  const std::vector<std::int32_t> labels = {0, 6, 3, 3, 1};
  sq::Tensor zt = sq::Tensor::from_vector(z, {n, k});
  const sq::Tensor lt = sq::Tensor::from_vector(labels, {n});
  loss.forward(zt, lt, ctx);
  const std::vector<float> g = loss.backward(ctx).to_vector<float>();
  const float eps = 1e-2f;
  for (int i = 0; i < n * k; ++i) {
    float* d = zt.data<float>();
    d[i] = z[i] + eps;
    loss.forward(zt, lt, ctx);
    const double lp = loss.read_loss();
    d[i] = z[i] - eps;
    loss.forward(zt, lt, ctx);
    const double lm = loss.read_loss();
    d[i] = z[i];
    EXPECT_NEAR((lp - lm) / (2 * eps), g[i], 2e-4) << i;
  }
}

TEST(SoftmaxCrossEntropy, LabelOutOfRangeGivesNaNAndWrongShapesAreRefused) {
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  sq::nn::SoftmaxCrossEntropy loss;
  loss.setup(2, 3, ctx);
  const sq::Tensor z = sq::Tensor::zeros({2, 3}, sq::DType::f32);
  loss.forward(z, sq::Tensor::from_vector(std::vector<std::int32_t>{0, 3}, {2}), ctx);
  EXPECT_TRUE(std::isnan(loss.read_loss()));
  EXPECT_THROW(loss.forward(z, sq::Tensor::from_vector(std::vector<std::int32_t>{0, 1, 2}, {3}), ctx), sq::Error);
  EXPECT_THROW(loss.forward(z, sq::Tensor::zeros({2}, sq::DType::f32), ctx), sq::Error);
}

}  // namespace
