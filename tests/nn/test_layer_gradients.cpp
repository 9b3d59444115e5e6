// Finite-difference gradient checks of every layer on the CPU (inputs and parameters).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "gradcheck.hpp"
#include "sq/nn/layers.hpp"

namespace {

using sq_test::check_module_gradients;
using sq_test::GradCheckOptions;

// Keeps values at least `gap` away from zero (ReLU's kink) and from each other (max pooling's ties).
GradCheckOptions kink_safe(double eps) {
  GradCheckOptions opt;
  opt.eps = eps;
  opt.fix_input = [](std::vector<float>& x) {
    std::vector<std::size_t> order(x.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
    // Evenly spaced distinct values in [-2, 2] that skip zero, in the random order of the original values.
    const float step = 4.f / static_cast<float>(x.size());
    for (std::size_t rank = 0; rank < order.size(); ++rank) {
      float v = -2.f + step * (static_cast<float>(rank) + 0.5f);
      if (std::fabs(v) < 0.05f) v = v < 0 ? -0.05f - step : 0.05f + step;
      x[order[rank]] = v;
    }
  };
  return opt;
}

TEST(LayerGradients, Conv2dWithBiasStrideAndPadding) {
  sq::nn::Conv2d conv("conv", 3, 4, 3, 2, 1, true, false);
  check_module_gradients(conv, {2, 3, 7, 6});
}

TEST(LayerGradients, Conv2dQuantizedNoPadding) {
  sq::nn::Conv2d conv("qconv", 2, 3, 3, 1, 0, false, true);
  EXPECT_TRUE(conv.weight().quantized);
  EXPECT_EQ(conv.bias(), nullptr);
  check_module_gradients(conv, {2, 2, 5, 5});
}

TEST(LayerGradients, Conv2dOneByOne) {
  sq::nn::Conv2d conv("proj", 3, 5, 1, 2, 0, false, false);
  check_module_gradients(conv, {2, 3, 6, 6});
}

TEST(LayerGradients, LinearWithAndWithoutBias) {
  sq::nn::Linear fc("fc", 7, 5, true, false);
  check_module_gradients(fc, {3, 7});
  sq::nn::Linear fc_q("fcq", 12, 4, false, true);
  EXPECT_TRUE(fc_q.weight().quantized);
  check_module_gradients(fc_q, {3, 3, 2, 2});  // (N, ...) inputs are rows of 12 features
}

TEST(LayerGradients, BatchNorm2d) {
  sq::nn::BatchNorm bn("bn", 3);
  GradCheckOptions opt;
  opt.eps = 3e-3;
  check_module_gradients(bn, {4, 3, 3, 2}, opt);
  EXPECT_EQ(bn.type(), "BatchNorm2d");
}

TEST(LayerGradients, BatchNorm1d) {
  sq::nn::BatchNorm bn("bn1d", 5);
  GradCheckOptions opt;
  opt.eps = 3e-3;
  check_module_gradients(bn, {6, 5}, opt);
  EXPECT_EQ(bn.type(), "BatchNorm1d");
}

TEST(LayerGradients, ReLU) {
  sq::nn::ReLU relu;
  check_module_gradients(relu, {2, 3, 4, 4}, kink_safe(1e-2));
}

TEST(LayerGradients, MaxPool2dDisjointAndOverlappingWindows) {
  sq::nn::MaxPool2d pool2(2, 2);
  check_module_gradients(pool2, {2, 2, 6, 5}, kink_safe(1e-3));
  sq::nn::MaxPool2d pool3(3, 2);
  check_module_gradients(pool3, {2, 2, 7, 7}, kink_safe(1e-3));
}

TEST(LayerGradients, GlobalAvgPoolAndFlatten) {
  sq::nn::GlobalAvgPool gap;
  check_module_gradients(gap, {3, 4, 3, 5});
  sq::nn::Flatten flatten;
  check_module_gradients(flatten, {3, 2, 3, 2});
}

TEST(LayerGradients, DropoutInTraining) {
  sq::nn::Dropout drop("drop", 0.4f);
  check_module_gradients(drop, {4, 50});
}

TEST(LayerGradients, BasicBlockIdentityShortcut) {
  sq::nn::BasicBlock block("block", 3, 3, 1, false);
  EXPECT_FALSE(block.has_projection());
  GradCheckOptions opt;
  opt.eps = 1e-4;  // small: BN amplifies weight steps, and a larger step makes pre-activations cross ReLU's kink
  opt.rtol = 5e-2;
  opt.atol_frac = 3e-2;
  opt.norm_tol = 2e-2;
  check_module_gradients(block, {3, 3, 4, 4}, opt);
}

TEST(LayerGradients, BasicBlockProjectionShortcut) {
  sq::nn::BasicBlock block("block", 2, 4, 2, true);
  EXPECT_TRUE(block.has_projection());
  GradCheckOptions opt;
  opt.eps = 1e-4;  // small: BN amplifies weight steps, and a larger step makes pre-activations cross ReLU's kink
  opt.rtol = 5e-2;
  opt.atol_frac = 3e-2;
  opt.norm_tol = 2e-2;
  check_module_gradients(block, {3, 2, 6, 6}, opt);
}

TEST(LayerGradients, SequentialSmallNet) {
  sq::nn::Sequential net("net");
  net.emplace<sq::nn::Conv2d>("net.conv", 2, 3, 3, 1, 1, false, true);
  net.emplace<sq::nn::BatchNorm>("net.bn", 3);
  net.emplace<sq::nn::GlobalAvgPool>();
  net.emplace<sq::nn::Linear>("net.fc", 3, 4, true, true);
  GradCheckOptions opt;
  opt.eps = 3e-3;
  check_module_gradients(net, {4, 2, 4, 4}, opt);
}

}  // namespace
