// Sequential and BasicBlock plumbing: parameter and buffer names, shapes, eval determinism of a small net.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "sq/nn/layers.hpp"

namespace {

std::unique_ptr<sq::nn::Sequential> small_net() {
  auto net = std::make_unique<sq::nn::Sequential>("net");
  net->emplace<sq::nn::Conv2d>("net.conv1", 1, 4, 3, 1, 1, false, true);
  net->emplace<sq::nn::BatchNorm>("net.bn1", 4);
  net->emplace<sq::nn::ReLU>();
  net->emplace<sq::nn::MaxPool2d>(2, 2);
  net->emplace<sq::nn::Dropout>("net.drop", 0.5f);
  net->emplace<sq::nn::BasicBlock>("net.block", 4, 6, 2, true);
  net->emplace<sq::nn::GlobalAvgPool>();
  net->emplace<sq::nn::Flatten>();
  net->emplace<sq::nn::Linear>("net.fc", 6, 3, true, true);
  return net;
}

TEST(Containers, NamesShapesAndChildren) {
  auto net = small_net();
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  EXPECT_EQ(net->setup({2, 1, 8, 8}, ctx), (sq::Shape{2, 3}));
  EXPECT_EQ(net->size(), 9u);
  EXPECT_EQ(net->children().size(), 9u);
  std::vector<sq::nn::Parameter*> params;
  net->collect_parameters(params);
  std::set<std::string> names;
  for (auto* p : params) names.insert(p->name);
  EXPECT_EQ(names.size(), params.size()) << "parameter names must be unique";
  for (const char* n :
       {"net.conv1.weight", "net.bn1.weight", "net.bn1.bias", "net.block.conv1.weight", "net.block.conv2.weight",
        "net.block.shortcut.conv.weight", "net.block.shortcut.bn.weight", "net.fc.weight", "net.fc.bias"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
  std::vector<sq::nn::NamedBuffer> buffers;
  net->collect_buffers(buffers);
  EXPECT_EQ(buffers.size(), 2u * 4);  // bn1, block.bn1, block.bn2, block.shortcut.bn
  int quantized = 0;
  for (auto* p : params) quantized += p->quantized;
  EXPECT_EQ(quantized, 5);  // conv1, block conv1/conv2/shortcut, fc
}

TEST(Containers, EvalModeIsDeterministicAndIgnoresTheStep) {
  auto net = small_net();
  auto ctx = sq::nn::make_context(sq::Device::cpu());
  net->setup({2, 1, 8, 8}, ctx);
  std::vector<sq::nn::Parameter*> params;
  net->collect_parameters(params);
  sq::nn::ParameterArena arena;
  arena.bind(params, sq::Device::cpu());
  arena.initialise(5);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> x(128);
  for (float& v : x) v = normal(rng);
  const sq::Tensor xt = sq::Tensor::from_vector(x, {2, 1, 8, 8});
  // A few training steps move the running statistics away from their initial values.
  for (std::uint64_t s = 0; s < 3; ++s) {
    ctx.step = s;
    net->forward(xt, ctx);
  }
  ctx.training = false;
  ctx.step = 100;
  const std::vector<float> a = net->forward(xt, ctx).to_vector<float>();
  ctx.step = 200;
  const std::vector<float> b = net->forward(xt, ctx).to_vector<float>();
  EXPECT_EQ(a, b);
  ctx.training = true;
  const std::vector<float> t1 = net->forward(xt, ctx).to_vector<float>();
  ctx.step = 201;
  const std::vector<float> t2 = net->forward(xt, ctx).to_vector<float>();
  EXPECT_NE(t1, t2) << "training mode draws a new dropout mask each step";
}

}  // namespace
