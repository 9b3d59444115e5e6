// Packed export and CPU inference on random quantized networks of every architecture and quantizer: the file's
// data section equals the model summary's packed size; the packed network's logits equal the training
// framework's eval forward at r = 1 (same BN statistics) within fp32 tolerance, folded BN or not; the codes
// round-trip; a file holds no fp32 copy of the quantized weights.
#include <cstring>

#include "deploy/pack_rows.hpp"
#include "deploy_util.hpp"
#include "sq/deploy/packed_codes.hpp"
#include "sq/train/checkpoint.hpp"

namespace {

using namespace sq_deploy_test;
using sq::deploy::detail::synthetic_net;

TEST(PackedCodes, EveryLevelRoundTripsAtEveryWidthAndOffset) {
  for (int bits = 1; bits <= 8; ++bits) {
    const int top = bits == 1 ? 1 : (1 << (bits - 1)) - 1;
    const std::int64_t cols = 37;  // not a multiple of any code count per byte
    std::vector<std::uint8_t> row(static_cast<std::size_t>(sq::deploy::packed_row_bytes(cols, bits)), 0);
    EXPECT_EQ(static_cast<std::int64_t>(row.size()), (cols * bits + 7) / 8);
    std::vector<int> levels;
    for (std::int64_t i = 0; i < cols; ++i) {
      int l = static_cast<int>(i % (2 * top + 1)) - top;
      if (bits == 1) l = i % 3 == 0 ? -1 : 1;
      levels.push_back(l);
      sq::deploy::put_code(row.data(), i, bits, l);
    }
    std::vector<float> decoded(static_cast<std::size_t>(cols));
    sq::deploy::decode_row(decoded.data(), row.data(), cols, bits);
    for (std::int64_t i = 0; i < cols; ++i) {
      EXPECT_EQ(sq::deploy::get_code(row.data(), i, bits), levels[static_cast<std::size_t>(i)]) << bits << " " << i;
      EXPECT_EQ(decoded[static_cast<std::size_t>(i)], static_cast<float>(levels[static_cast<std::size_t>(i)]));
    }
  }
  // The documented bytes: TWN levels +1, -1, 0, +1 -> 01 11 00 01 LSB first = 0b01001101.
  std::uint8_t b = 0;
  const int twn[4] = {1, -1, 0, 1};
  for (int i = 0; i < 4; ++i) sq::deploy::put_code(&b, i, 2, twn[i]);
  EXPECT_EQ(b, 0x4d);
}

TEST(PackRows, RefusesValuesThatAreNotScaledLevels) {
  const float not_binary[4] = {0.5f, -0.5f, 0.25f, 0.5f};
  EXPECT_THROW(sq::deploy::detail::rows_from_quantized(not_binary, 1, 4, 1, "w"), sq::Error);
  const float not_ternary[3] = {0.5f, 0.f, 0.3f};
  EXPECT_THROW(sq::deploy::detail::rows_from_quantized(not_ternary, 1, 3, 2, "w"), sq::Error);
  const float ternary[3] = {0.5f, 0.f, -0.5f};
  const auto p = sq::deploy::detail::rows_from_quantized(ternary, 1, 3, 2, "w");
  EXPECT_EQ(p.scales[0], 0.5f);
  EXPECT_EQ(p.levels, (std::vector<std::int8_t>{1, 0, -1}));
}

struct Case {
  std::string arch;
  QuantCase quant;
};
// Names the case in gtest's listing (ctest shows it), not a byte dump of the struct.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.arch << " " << c.quant.label();
}

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (const std::string& arch : sq::nn::known_architectures()) {
    if (sq::nn::is_imagenet_architecture(arch)) continue;  // 32x32 inputs here; tests/imagenet has those nets
    for (const QuantCase& q : quant_cases()) out.push_back({arch, q});
  }
  return out;
}

class PackedNetworkTest : public ::testing::TestWithParam<Case> {};

std::int64_t data_bytes(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  EXPECT_NE(f, nullptr);
  std::uint8_t len[8] = {};
  EXPECT_EQ(std::fread(len, 1, 8, f), 8u);
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fclose(f);
  std::int64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | len[i];
  return size - 8 - header;
}

TEST_P(PackedNetworkTest, SizeMatchesTheSummaryAndLogitsMatchTheEvalForward) {
  const Case& c = GetParam();
  sq::nn::ModelSpec spec;
  spec.arch = c.arch;
  spec.in_channels = c.arch == "small_cnn" ? 1 : 3;
  spec.quantize_first = c.arch != "resnet32";  // one architecture with a full-precision first conv
  auto net = synthetic_net(spec, c.quant.quantizer, c.quant.bits, 11);
  const sq::nn::ModelSize size = net->model->size();
  const sq::Tensor images = test_images(2, spec.in_channels, 32, 3);
  const sq::Tensor reference = sq::deploy::detail::reference_forward(*net, images).clone();

  std::int64_t bn_channels_after_quantized = 0;
  std::int64_t plain_bias = 0, plain_tensors = 0;
  const auto bias_numel = [](const sq::train::Checkpoint& file) {
    std::int64_t n = 0;
    for (const auto& t : file.tensors)
      if (t.name.size() > 5 && t.name.compare(t.name.size() - 5, 5, ".bias") == 0) n += t.tensor.numel();
    return n;
  };
  for (bool fold : {false, true}) {
    sq::deploy::PackOptions options;
    options.fold_bn = fold;
    options.normalization = net->normalization;
    const std::string path = temp_path(c.arch + "_" + c.quant.label() + (fold ? "_fold" : "") + ".sqm");
    const sq::train::Checkpoint packed = sq::deploy::pack_model(*net->model, options);
    sq::train::write_checkpoint(path, packed);
    if (!fold) {
      plain_bias = bias_numel(packed);
      plain_tensors = static_cast<std::int64_t>(packed.tensors.size());
    }
    if (!fold) {
      // Unfolded: codes + scales + fp32 others (BN as scale/shift: as many floats as gamma/beta) = the summary.
      EXPECT_EQ(data_bytes(path), size.packed_bytes) << "summary packed size";
      for (const auto& t : packed.tensors) {
        if (t.name.find(".weight.codes") != std::string::npos) {
          EXPECT_EQ(t.tensor.dtype(), sq::DType::u8) << t.name;
        }
      }
    } else {
      // Folded: each folded BN's scale + shift (2C floats) became a bias of its layer (C floats).
      bn_channels_after_quantized = bias_numel(packed) - plain_bias;
      EXPECT_LT(static_cast<std::int64_t>(packed.tensors.size()), plain_tensors) << "folded BNs leave no tensors";
      EXPECT_GT(bn_channels_after_quantized, 0);
      EXPECT_EQ(data_bytes(path), size.packed_bytes - 4 * bn_channels_after_quantized);
    }
    sq::deploy::PackedNetwork loaded = sq::deploy::PackedNetwork::load(path, c.arch);
    EXPECT_EQ(loaded.info().bits, size.bits);
    EXPECT_EQ(loaded.info().folded_bn, fold);
    const sq::Tensor logits = loaded.forward(images);
    ASSERT_EQ(logits.shape(), reference.shape());
    EXPECT_LT(max_relative_difference(logits, reference), 2e-5) << (fold ? "folded" : "unfolded");
    std::remove(path.c_str());
  }
}

INSTANTIATE_TEST_SUITE_P(EveryArchitectureAndQuantizer, PackedNetworkTest, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string n = info.param.arch + "_" + info.param.quant.label();
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

TEST(PackedNetwork, FoldingHandlesNegativeBnScalesBySigns) {
  sq::nn::ModelSpec spec;
  spec.arch = "small_cnn";
  spec.in_channels = 1;
  auto net = synthetic_net(spec, "twn", 0, 5);
  sq::deploy::PackOptions options;
  options.normalization = net->normalization;
  options.fold_bn = true;
  const sq::train::Checkpoint folded = sq::deploy::pack_model(*net->model, options);
  options.fold_bn = false;
  const sq::train::Checkpoint plain = sq::deploy::pack_model(*net->model, options);
  const float* bn_scale = plain.at("bn2.scale").data<float>();
  const float* folded_scale = folded.at("conv2.weight.scale").data<float>();
  const float* scale = plain.at("conv2.weight.scale").data<float>();
  const auto& codes_plain = plain.at("conv2.weight.codes");
  const auto& codes_folded = folded.at("conv2.weight.codes");
  const std::int64_t row_bytes = codes_plain.dim(1), cols = 8 * 9;
  int negative = 0;
  for (int r = 0; r < 16; ++r) {
    EXPECT_GE(folded_scale[r], 0.f);
    EXPECT_FLOAT_EQ(folded_scale[r], std::fabs(scale[r] * bn_scale[r]));
    const auto* a = static_cast<const std::uint8_t*>(codes_plain.raw()) + r * row_bytes;
    const auto* b = static_cast<const std::uint8_t*>(codes_folded.raw()) + r * row_bytes;
    for (std::int64_t i = 0; i < cols; ++i) {
      const int expect = bn_scale[r] < 0.f ? -sq::deploy::get_code(a, i, 2) : sq::deploy::get_code(a, i, 2);
      ASSERT_EQ(sq::deploy::get_code(b, i, 2), expect) << "row " << r << " element " << i;
    }
    negative += bn_scale[r] < 0.f;
  }
  EXPECT_GT(negative, 0) << "the synthetic net must exercise negative BN scales";
  EXPECT_EQ(folded.find("bn2.scale"), nullptr) << "a folded BN leaves no tensor";
}

TEST(PackedNetwork, RefusesAFullPrecisionModel) {
  sq::nn::ModelSpec spec;
  spec.arch = "small_cnn";
  spec.in_channels = 1;
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  auto model = sq::nn::build_model(spec, std::nullopt, ctx, 1);
  sq::deploy::PackOptions options;
  options.normalization = {{0.5f}, {0.25f}};
  try {
    sq::deploy::pack_model(*model, options);
    FAIL() << "an FWN model was packed";
  } catch (const sq::Error& e) {
    EXPECT_NE(e.message().find("FWN"), std::string::npos) << e.message();
  }
}

}  // namespace
