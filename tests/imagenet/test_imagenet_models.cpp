// The ImageNet networks against hand counts: ResNet-18 has torchvision's 11,689,512 parameters, AlexNet-BN the
// authors' Caffe layer sizes (9216 features into fc6 at 224x224); shapes, first/last layer options, the summary's
// packed size; too-small inputs are refused by name.
#include <gtest/gtest.h>

#include "sq/core/error.hpp"
#include "sq/nn/models.hpp"

namespace {

sq::nn::ModelSpec spec(const std::string& arch, int size = 224, int classes = 1000) {
  sq::nn::ModelSpec s;
  s.arch = arch;
  s.image_size = size;
  s.classes = classes;
  return s;
}

std::int64_t total(const sq::nn::Architecture& a, bool quantized) {
  std::int64_t n = 0;
  for (const auto& l : a.layers) n += quantized ? l.quantized_params : l.params;
  return n;
}

const sq::nn::LayerInfo& layer(const sq::nn::Architecture& a, const std::string& name) {
  for (const auto& l : a.layers) {
    if (l.name == name) return l;
  }
  throw std::runtime_error("no layer " + name);
}

TEST(ImagenetModels, ResNet18MatchesTorchvisionsCountAndShapes) {
  const sq::nn::Architecture a = sq::nn::build_architecture(spec("resnet18"), true);
  EXPECT_EQ(total(a, false), 11689512);
  EXPECT_EQ(layer(a, "conv1").output, (sq::Shape{64, 112, 112}));
  EXPECT_EQ(layer(a, "stage1.block1").output, (sq::Shape{64, 55, 55}));  // pool without padding: 55, not 56
  EXPECT_EQ(layer(a, "stage4.block1").output, (sq::Shape{512, 7, 7}));
  EXPECT_EQ(layer(a, "fc").output, (sq::Shape{1000}));
  // Every conv and FC weight quantized: all but BN (2 per channel) and the FC bias.
  const std::int64_t bn = 2 * (64 + 4 * 64 + 5 * 128 + 5 * 256 + 5 * 512);
  EXPECT_EQ(total(a, true), 11689512 - bn - 1000);
  sq::nn::ModelSpec fp_ends = spec("resnet18");
  fp_ends.quantize_first = fp_ends.quantize_last = false;
  const sq::nn::Architecture b = sq::nn::build_architecture(fp_ends, true);
  EXPECT_EQ(total(a, true) - total(b, true), 64 * 3 * 49 + 512 * 1000);
}

TEST(ImagenetModels, AlexNetBnFollowsTheAuthorsDefinition) {
  const sq::nn::Architecture a = sq::nn::build_architecture(spec("alexnet_bn"), true);
  EXPECT_EQ(layer(a, "conv1").output, (sq::Shape{96, 55, 55}));
  EXPECT_EQ(layer(a, "conv5").output, (sq::Shape{256, 13, 13}));
  EXPECT_EQ(layer(a, "fc6").params, 9216 * 4096);
  EXPECT_EQ(layer(a, "fc8").params, 4096 * 1000 + 1000);
  EXPECT_EQ(total(a, false), 62387912);
  // Reduced inputs train too (64x64: pool5 is 1x1), smaller ones are refused with the reason.
  EXPECT_EQ(layer(sq::nn::build_architecture(spec("alexnet_bn", 64, 10), true), "fc6").params, 256 * 4096);
  try {
    sq::nn::build_architecture(spec("alexnet_bn", 32, 10), true);
    FAIL() << "32x32 accepted";
  } catch (const sq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("too small"), std::string::npos) << e.what();
  }
}

TEST(ImagenetModels, SummaryShowsThePackedSize) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  sq::quant::SqOptions twn;
  twn.quantizer = sq::quant::Quantizer::twn;
  const auto model = sq::nn::build_model(spec("resnet18", 32, 10), twn, ctx, 1);
  const sq::nn::ModelSize size = model->size();
  EXPECT_EQ(size.bits, 2);
  EXPECT_LT(size.packed_bytes * 10, size.fp32_bytes);
  const std::string summary = model->summary();
  EXPECT_NE(summary.find("stage4.block1"), std::string::npos) << summary;
  EXPECT_NE(summary.find("packed"), std::string::npos) << summary;
}

}  // namespace
