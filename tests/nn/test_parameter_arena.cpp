// ParameterArena: layout order, views, and seeded initialisation.
#include <gtest/gtest.h>

#include <cmath>

#include "sq/nn/parameter.hpp"

namespace {

TEST(ParameterArena, QuantizedFirstThenDecayedThenNot) {
  sq::nn::Parameter bias{"fc.bias", {4}, sq::nn::ParamInit::zeros, false, false, {}, {}, {}};
  sq::nn::Parameter conv{"conv.weight", {3, 2, 3, 3}, sq::nn::ParamInit::he_normal, true, true, {}, {}, {}};
  sq::nn::Parameter fc{"fc.weight", {4, 5}, sq::nn::ParamInit::he_normal, true, false, {}, {}, {}};
  sq::nn::Parameter conv2{"conv2.weight", {2, 4}, sq::nn::ParamInit::he_normal, true, true, {}, {}, {}};
  sq::nn::ParameterArena arena;
  arena.bind({&bias, &conv, &fc, &conv2}, sq::Device::cpu());
  EXPECT_EQ(arena.numel(), 4 + 54 + 20 + 8);
  EXPECT_EQ(arena.quantized_numel(), 54 + 8);
  EXPECT_EQ(arena.decayed_end(), 54 + 8 + 20);
  ASSERT_EQ(arena.quantized_segments().size(), 2u);
  EXPECT_EQ(arena.quantized_segments()[0].offset, 0);
  EXPECT_EQ(arena.quantized_segments()[0].rows, 3);
  EXPECT_EQ(arena.quantized_segments()[0].cols, 18);
  EXPECT_EQ(arena.quantized_segments()[1].offset, 54);
  EXPECT_EQ(conv.value.raw(), arena.values().raw());
  EXPECT_EQ(conv.effective.raw(), arena.hybrid().raw());
  EXPECT_EQ(fc.effective.raw(), fc.value.raw()) << "full-precision parameters compute with their master values";
  EXPECT_EQ(conv2.effective.shape(), conv2.shape);
}

TEST(ParameterArena, InitialisationIsSeededAndScaled) {
  sq::nn::Parameter w{"w", {64, 288}, sq::nn::ParamInit::he_normal, true, true, {}, {}, {}};
  sq::nn::Parameter g{"g", {64}, sq::nn::ParamInit::ones, false, false, {}, {}, {}};
  sq::nn::ParameterArena a, b;
  a.bind({&w, &g}, sq::Device::cpu());
  a.initialise(7);
  const std::vector<float> first = a.values().to_vector<float>();
  b.bind({&w, &g}, sq::Device::cpu());
  b.initialise(7);
  EXPECT_EQ(b.values().to_vector<float>(), first);
  double sum2 = 0;
  for (int i = 0; i < 64 * 288; ++i) sum2 += double(first[i]) * first[i];
  EXPECT_NEAR(std::sqrt(sum2 / (64 * 288)), std::sqrt(2.0 / 288), 0.02 * std::sqrt(2.0 / 288));
  EXPECT_EQ(first[64 * 288], 1.f);
  EXPECT_EQ(b.hybrid().to_vector<float>(), std::vector<float>(first.begin(), first.begin() + 64 * 288));
  b.initialise(8);
  EXPECT_NE(b.values().to_vector<float>(), first);
}

TEST(ParameterArena, DuplicateNamesAreRefused) {
  sq::nn::Parameter a{"x", {2}, sq::nn::ParamInit::zeros, true, false, {}, {}, {}};
  sq::nn::Parameter b{"x", {2}, sq::nn::ParamInit::zeros, true, false, {}, {}, {}};
  sq::nn::ParameterArena arena;
  EXPECT_THROW(arena.bind({&a, &b}, sq::Device::cpu()), sq::Error);
}

}  // namespace
