// Model builders: parameter counts against hand counts, layer shapes, quantized flags, sizes and the summary.
#include <gtest/gtest.h>

#include <optional>

#include "sq/core/error.hpp"
#include "sq/nn/models.hpp"
#include "sq/quant/pipeline.hpp"

namespace {

using sq::nn::ModelSpec;

sq::quant::SqOptions twn(double ratio = 1.0) {
  sq::quant::SqOptions o;
  o.quantizer = sq::quant::Quantizer::twn;
  o.ratio = ratio;
  return o;
}

std::unique_ptr<sq::nn::Model> build(const ModelSpec& spec, std::optional<sq::quant::SqOptions> sq) {
  static sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  return sq::nn::build_model(spec, sq, ctx, 1);
}

// conv k x k without bias, BN (gamma + beta), FC with or without bias: the hand-count vocabulary.
constexpr std::int64_t conv(std::int64_t in, std::int64_t out, std::int64_t k = 3) {
  return in * out * k * k;
}
constexpr std::int64_t bn(std::int64_t c) {
  return 2 * c;
}

TEST(Models, Vgg9ParameterCountByHand) {
  ModelSpec spec;
  spec.arch = "vgg9";
  const auto model = build(spec, twn());
  const std::int64_t convs =
      conv(3, 64) + conv(64, 64) + conv(64, 128) + conv(128, 128) + conv(128, 256) + conv(256, 256);
  const std::int64_t fc_weights = 256 * 4 * 4 * 512 + 512 * 512 + 512 * 10;
  const std::int64_t bns = bn(64) * 2 + bn(128) * 2 + bn(256) * 2 + bn(512) * 2;
  const std::int64_t expected = convs + fc_weights + 10 + bns;
  EXPECT_EQ(expected, 3512778);
  const sq::nn::ModelSize size = model->size();
  EXPECT_EQ(size.params, expected);
  EXPECT_EQ(model->arena().numel(), expected);
  EXPECT_EQ(size.quantized_params, convs + fc_weights) << "every conv and FC weight is quantized by default";
  EXPECT_EQ(size.quantized_rows, 64 * 2 + 128 * 2 + 256 * 2 + 512 * 2 + 10);
  EXPECT_EQ(model->arena().quantized_segments().size(), 9u);
  ASSERT_NE(model->pipeline(), nullptr);
  // Output shapes: 32 -> 16 -> 8 -> 4 after the three pools, then 4096 features.
  bool saw_flatten = false;
  for (const auto& layer : model->layers()) {
    if (layer.type == "Flatten") {
      EXPECT_EQ(layer.output, (sq::Shape{4096}));
      saw_flatten = true;
    }
    if (layer.name == "conv6") {
      EXPECT_EQ(layer.output, (sq::Shape{256, 8, 8}));
    }
  }
  EXPECT_TRUE(saw_flatten);
  EXPECT_EQ(model->layers().back().output, (sq::Shape{10}));
}

TEST(Models, ResNetParameterCountsByHand) {
  // A basic block: two 3x3 convs + two BNs; with a projection, a 1x1 conv + BN more.
  auto block = [](std::int64_t in, std::int64_t out) {
    return conv(in, out) + conv(out, out) + 2 * bn(out) + (in != out ? conv(in, out, 1) + bn(out) : 0);
  };
  for (const int n : {3, 9}) {
    const std::int64_t expected = conv(3, 16) + bn(16) + n * block(16, 16) + block(16, 32) + (n - 1) * block(32, 32) +
                                  block(32, 64) + (n - 1) * block(64, 64) + 64 * 10 + 10;
    ModelSpec spec;
    spec.arch = "resnet" + std::to_string(6 * n + 2);
    const auto model = build(spec, twn());
    EXPECT_EQ(model->size().params, expected) << spec.arch;
    // PyTorch's option-A counts (269,722 and 853,018) plus the two projections (1x1 conv + BN).
    const std::int64_t projections = conv(16, 32, 1) + bn(32) + conv(32, 64, 1) + bn(64);
    EXPECT_EQ(expected - projections, n == 3 ? 269722 : 853018) << spec.arch;
    EXPECT_EQ(model->layers().back().output, (sq::Shape{10}));
  }
}

TEST(Models, FirstAndLastLayersCanStayFullPrecision) {
  ModelSpec spec;
  spec.arch = "resnet20";
  spec.in_channels = 1;
  spec.classes = 100;
  const auto all = build(spec, twn());
  spec.quantize_first = false;
  spec.quantize_last = false;
  const auto inner = build(spec, twn());
  EXPECT_EQ(all->size().params, inner->size().params);
  EXPECT_EQ(all->size().quantized_params - inner->size().quantized_params, conv(1, 16) + 64 * 100);
  EXPECT_EQ(all->size().quantized_rows - inner->size().quantized_rows, 16 + 100);
  EXPECT_EQ(all->layers().front().quantized_params, conv(1, 16));
  EXPECT_EQ(inner->layers().front().quantized_params, 0);
}

TEST(Models, FullPrecisionHasNoPipelineAndNoQuantizedWeights) {
  ModelSpec spec;
  spec.arch = "small_cnn";
  const auto fwn = build(spec, std::nullopt);
  EXPECT_EQ(fwn->pipeline(), nullptr);
  EXPECT_EQ(fwn->arena().quantized_numel(), 0);
  EXPECT_EQ(fwn->size().packed_bytes, fwn->size().fp32_bytes);
}

TEST(Models, PackedSizeCountsBitsAndRowScales) {
  ModelSpec spec;
  spec.arch = "small_cnn";
  const auto model = build(spec, twn(0.5));
  // conv1 3->8, conv2 8->16, conv3 16->32 (3x3), fc 32->10: rows padded to whole bytes at 2 bits.
  const std::int64_t packed_weights =
      8 * ((27 * 2 + 7) / 8) + 16 * ((72 * 2 + 7) / 8) + 32 * ((144 * 2 + 7) / 8) + 10 * ((32 * 2 + 7) / 8);
  const std::int64_t rows = 8 + 16 + 32 + 10;
  const std::int64_t fp_params = bn(8) + bn(16) + bn(32) + 10;
  const sq::nn::ModelSize size = model->size();
  EXPECT_EQ(size.bits, 2);
  EXPECT_EQ(size.quantized_rows, rows);
  EXPECT_EQ(size.packed_bytes, packed_weights + 4 * rows + 4 * fp_params);
  EXPECT_EQ(size.fp32_bytes, 4 * size.params);
  sq::quant::SqOptions bwn = twn();
  bwn.quantizer = sq::quant::Quantizer::bwn;
  EXPECT_EQ(sq::nn::quantized_bits(bwn), 1);
  bwn.quantizer = sq::quant::Quantizer::kbit;
  bwn.bits = 4;
  EXPECT_EQ(sq::nn::quantized_bits(bwn), 4);
}

TEST(Models, SummaryListsLayersShapesAndSizes) {
  ModelSpec spec;
  spec.arch = "small_cnn";
  const auto model = build(spec, twn(0.5));
  const std::string text = model->summary();
  EXPECT_NE(text.find("conv1"), std::string::npos) << text;
  EXPECT_NE(text.find("8x32x32"), std::string::npos) << text;
  EXPECT_NE(text.find("32x8x8"), std::string::npos) << text;
  EXPECT_NE(text.find("SQ-twn"), std::string::npos) << text;
  EXPECT_NE(text.find("packed 2-bit"), std::string::npos) << text;
  EXPECT_NE(text.find(std::to_string(model->size().params)), std::string::npos) << text;
}

TEST(Models, BadSpecsAreRefused) {
  ModelSpec spec;
  spec.arch = "resnet21";
  EXPECT_THROW(spec.validate(), sq::Error);
  spec.arch = "vgg9";
  spec.image_size = 28;
  EXPECT_THROW(spec.validate(), sq::Error);
  spec.image_size = 32;
  spec.classes = 1;
  EXPECT_THROW(spec.validate(), sq::Error);
}

TEST(Models, OneDimensionalDecayIsConfigurable) {
  ModelSpec spec;
  spec.arch = "small_cnn";
  const auto decay_all = build(spec, twn());
  EXPECT_EQ(decay_all->arena().decayed_end(), decay_all->arena().numel()) << "the paper decays every parameter";
  spec.decay_1d = false;
  const auto decay_weights = build(spec, twn());
  EXPECT_EQ(decay_weights->arena().decayed_end(), decay_weights->arena().quantized_numel())
      << "without 1-d decay only the (here all quantized) weights decay";
}

}  // namespace
