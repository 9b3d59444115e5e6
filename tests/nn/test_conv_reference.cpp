// Conv2d and Linear forward on the CPU against naive loops; quantized layers compute with the hybrid weights.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "sq/nn/layers.hpp"

namespace {

std::vector<float> random_vector(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// Direct convolution in double: y[n,o,oh,ow] = b[o] + sum_{c,kh,kw} w[o,c,kh,kw] x[n,c,oh*s-p+kh,ow*s-p+kw].
std::vector<double> naive_conv(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                               int n, int c, int h, int wd, int o, int k, int s, int p) {
  const int oh_n = (h + 2 * p - k) / s + 1, ow_n = (wd + 2 * p - k) / s + 1;
  std::vector<double> y(static_cast<std::size_t>(n) * o * oh_n * ow_n);
  for (int in = 0; in < n; ++in)
    for (int oc = 0; oc < o; ++oc)
      for (int oh = 0; oh < oh_n; ++oh)
        for (int ow = 0; ow < ow_n; ++ow) {
          double acc = b.empty() ? 0.0 : b[oc];
          for (int ic = 0; ic < c; ++ic)
            for (int kh = 0; kh < k; ++kh)
              for (int kw = 0; kw < k; ++kw) {
                const int ih = oh * s - p + kh, iw = ow * s - p + kw;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                acc += double(w[((oc * c + ic) * k + kh) * k + kw]) * x[((in * c + ic) * h + ih) * wd + iw];
              }
          y[((in * o + oc) * oh_n + oh) * ow_n + ow] = acc;
        }
  return y;
}

struct ConvCase {
  int n, c, h, w, o, k, s, p;
  bool bias;
};

class ConvReference : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvReference, MatchesDirectConvolution) {
  const ConvCase cc = GetParam();
  sq::nn::Conv2d conv("conv", cc.c, cc.o, cc.k, cc.s, cc.p, cc.bias, false);
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  const sq::Shape out = conv.setup({cc.n, cc.c, cc.h, cc.w}, ctx);
  std::vector<sq::nn::Parameter*> params;
  conv.collect_parameters(params);
  sq::nn::ParameterArena arena;
  arena.bind(params, sq::Device::cpu());
  arena.initialise(3);
  std::vector<float> bias;
  if (cc.bias) {
    bias = random_vector(static_cast<std::size_t>(cc.o), 8);
    conv.bias()->value.copy_from(sq::Tensor::from_vector(bias, {cc.o}));
  }
  const std::vector<float> x = random_vector(static_cast<std::size_t>(cc.n) * cc.c * cc.h * cc.w, 4);
  const std::vector<float> y =
      conv.forward(sq::Tensor::from_vector(x, {cc.n, cc.c, cc.h, cc.w}), ctx).to_vector<float>();
  const std::vector<double> ref =
      naive_conv(x, conv.weight().value.to_vector<float>(), bias, cc.n, cc.c, cc.h, cc.w, cc.o, cc.k, cc.s, cc.p);
  EXPECT_EQ(out, (sq::Shape{cc.n, cc.o, (cc.h + 2 * cc.p - cc.k) / cc.s + 1, (cc.w + 2 * cc.p - cc.k) / cc.s + 1}));
  ASSERT_EQ(y.size(), ref.size());
  for (std::size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], ref[i], 1e-4 * (1 + std::fabs(ref[i]))) << i;
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvReference,
                         ::testing::Values(ConvCase{2, 3, 8, 8, 4, 3, 1, 1, false},
                                           ConvCase{1, 2, 7, 9, 3, 3, 2, 1, true},
                                           ConvCase{2, 4, 6, 6, 5, 1, 2, 0, false},
                                           ConvCase{1, 1, 5, 5, 2, 5, 1, 2, true},
                                           ConvCase{3, 2, 9, 7, 2, 3, 3, 0, true}));

TEST(QuantizedLayers, ComputeWithTheHybridWeightsNotTheMasterValues) {
  sq::nn::Conv2d conv("qconv", 2, 3, 3, 1, 1, false, true);
  sq::nn::Linear fc("qfc", 6, 2, false, true);
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  conv.setup({1, 2, 4, 4}, ctx);
  fc.setup({2, 6}, ctx);
  std::vector<sq::nn::Parameter*> params;
  conv.collect_parameters(params);
  fc.collect_parameters(params);
  sq::nn::ParameterArena arena;
  arena.bind(params, sq::Device::cpu());
  arena.initialise(11);
  EXPECT_EQ(arena.quantized_numel(), 2 * 3 * 9 + 6 * 2);
  // Hybrid = sign(W) * 0.5: a stand-in for what the SQ pipeline writes.
  std::vector<float> hybrid = arena.values().to_vector<float>();
  hybrid.resize(static_cast<std::size_t>(arena.quantized_numel()));
  for (float& v : hybrid) v = v >= 0 ? 0.5f : -0.5f;
  arena.hybrid().copy_from(sq::Tensor::from_vector(hybrid, {arena.quantized_numel()}));

  const std::vector<float> x = random_vector(32, 5);
  const std::vector<float> y = conv.forward(sq::Tensor::from_vector(x, {1, 2, 4, 4}), ctx).to_vector<float>();
  const std::vector<double> with_hybrid =
      naive_conv(x, conv.weight().effective.to_vector<float>(), {}, 1, 2, 4, 4, 3, 3, 1, 1);
  const std::vector<double> with_master =
      naive_conv(x, conv.weight().value.to_vector<float>(), {}, 1, 2, 4, 4, 3, 3, 1, 1);
  double diff_master = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    EXPECT_NEAR(y[i], with_hybrid[i], 1e-4 * (1 + std::fabs(with_hybrid[i])));
    diff_master += std::fabs(y[i] - with_master[i]);
  }
  EXPECT_GT(diff_master, 1.0) << "the quantized conv must not use the master weights";

  const std::vector<float> xf = random_vector(12, 6);
  const sq::Tensor xf_tensor = sq::Tensor::from_vector(xf, {2, 6});  // must outlive backward (saved by forward)
  const std::vector<float> yf = fc.forward(xf_tensor, ctx).to_vector<float>();
  const std::vector<float> wf = fc.weight().effective.to_vector<float>();
  for (int r = 0; r < 2; ++r)
    for (int o = 0; o < 2; ++o) {
      double acc = 0;
      for (int i = 0; i < 6; ++i) acc += double(wf[o * 6 + i]) * xf[r * 6 + i];
      EXPECT_NEAR(yf[r * 2 + o], acc, 1e-5);
    }
  // Straight-through: the gradient lands in the arena's gradient buffer at the master weights' offsets.
  fc.backward(sq::Tensor::from_vector(std::vector<float>(4, 1.f), {2, 2}), ctx);
  EXPECT_EQ(fc.weight().grad.raw(), static_cast<const char*>(arena.grads().raw()) + 4 * 54);
  const std::vector<float> gw = fc.weight().grad.to_vector<float>();
  for (int o = 0; o < 2; ++o)
    for (int i = 0; i < 6; ++i) EXPECT_NEAR(gw[o * 6 + i], xf[i] + xf[6 + i], 1e-5);
}

TEST(Layers, SetupRefusesWrongShapesWithTheLayerName) {
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  sq::nn::Conv2d conv("features.3", 3, 8, 3, 1, 1, false, false);
  try {
    conv.setup({2, 4, 8, 8}, ctx);
    FAIL() << "expected sq::Error";
  } catch (const sq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("features.3"), std::string::npos) << e.what();
  }
  sq::nn::Linear fc("fc", 10, 2, true, false);
  EXPECT_THROW(fc.setup({2, 11}, ctx), sq::Error);
  sq::nn::MaxPool2d pool(3, 2);
  EXPECT_THROW(pool.setup({1, 1, 2, 2}, ctx), sq::Error);
  EXPECT_THROW(sq::nn::Dropout("d", 1.f), sq::Error);
}

TEST(Layers, ForwardRefusesInputsSetupWasNotFor) {
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  sq::nn::ReLU relu;
  relu.setup({2, 3}, ctx);
  EXPECT_THROW(relu.forward(sq::Tensor::zeros({3, 2}, sq::DType::f32), ctx), sq::Error);
  sq::nn::Linear fc("fc", 3, 2, false, false);
  fc.setup({2, 3}, ctx);
  EXPECT_THROW(fc.forward(sq::Tensor::zeros({2, 3}, sq::DType::f32), ctx), sq::Error) << "parameters are not bound";
}

}  // namespace

namespace {

// Large images make the CPU path split the batch into chunks (column matrix ~4 MiB): the result must equal the
// same convolution run image by image (a single-image batch is one chunk).
TEST(ConvChunks, ChunkedBatchMatchesImageByImage) {
  const int n = 9, c = 4, h = 64, o = 4;  // 36 x 4096 columns per image: chunks of 7 + 2 images
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  sq::nn::Conv2d batched("conv", c, o, 3, 1, 1, true, false), single("conv", c, o, 3, 1, 1, true, false);
  batched.setup({n, c, h, h}, ctx);
  single.setup({1, c, h, h}, ctx);
  std::vector<sq::nn::Parameter*> pb, ps;
  batched.collect_parameters(pb);
  single.collect_parameters(ps);
  sq::nn::ParameterArena ab, as;
  ab.bind(pb, ctx.device);
  as.bind(ps, ctx.device);
  ab.initialise(2);
  as.initialise(2);
  const std::vector<float> x = random_vector(static_cast<std::size_t>(n) * c * h * h, 12);
  const std::vector<float> dy = random_vector(static_cast<std::size_t>(n) * o * h * h, 13);
  const sq::Tensor xt = sq::Tensor::from_vector(x, {n, c, h, h});
  const std::vector<float> y = batched.forward(xt, ctx).to_vector<float>();
  const std::vector<float> dx = batched.backward(sq::Tensor::from_vector(dy, {n, o, h, h}), ctx).to_vector<float>();
  const std::vector<float> dw = batched.weight().grad.to_vector<float>();
  const std::vector<float> db = batched.bias()->grad.to_vector<float>();
  const std::size_t in_size = static_cast<std::size_t>(c) * h * h, out_size = static_cast<std::size_t>(o) * h * h;
  std::vector<double> dw_sum(dw.size(), 0.0), db_sum(db.size(), 0.0);
  for (int b = 0; b < n; ++b) {
    const sq::Tensor xb = sq::Tensor::from_vector(
        std::vector<float>(x.begin() + b * in_size, x.begin() + (b + 1) * in_size), {1, c, h, h});
    const std::vector<float> yb = single.forward(xb, ctx).to_vector<float>();
    const std::vector<float> dxb =
        single
            .backward(sq::Tensor::from_vector(
                          std::vector<float>(dy.begin() + b * out_size, dy.begin() + (b + 1) * out_size), {1, o, h, h}),
                      ctx)
            .to_vector<float>();
    for (std::size_t i = 0; i < out_size; ++i) ASSERT_NEAR(y[b * out_size + i], yb[i], 1e-5f * (1 + std::fabs(yb[i])));
    for (std::size_t i = 0; i < in_size; ++i) ASSERT_NEAR(dx[b * in_size + i], dxb[i], 1e-5f * (1 + std::fabs(dxb[i])));
    const std::vector<float> g = single.weight().grad.to_vector<float>();
    for (std::size_t i = 0; i < g.size(); ++i) dw_sum[i] += g[i];
    const std::vector<float> gb = single.bias()->grad.to_vector<float>();
    for (std::size_t i = 0; i < gb.size(); ++i) db_sum[i] += gb[i];
  }
  for (std::size_t i = 0; i < dw.size(); ++i) ASSERT_NEAR(dw[i], dw_sum[i], 1e-3 * (1 + std::fabs(dw_sum[i]))) << i;
  for (std::size_t i = 0; i < db.size(); ++i) ASSERT_NEAR(db[i], db_sum[i], 1e-3 * (1 + std::fabs(db_sum[i]))) << i;
}

}  // namespace
