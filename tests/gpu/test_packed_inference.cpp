// GPU inference from a packed .sqm file (kernels/packed.cu, docs/DEPLOY.md) against the CPU packed path and the
// training framework's eval forward at r = 1 (same BN statistics), for every architecture and quantizer, BN
// folded or not, batch 1 and a batch of 3; plus the packed GPU kernels against their host twins at the sizes of a
// real layer (the emulated tests cover ragged shapes bit for bit). Skips with a reason without a GPU.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cpu/packed.hpp"
#include "deploy/synthetic.hpp"
#include "sq/config.hpp"
#include "sq/core/philox.hpp"
#include "sq/deploy/inference.hpp"
#include "sq/deploy/packed.hpp"
#include "sq/deploy/packed_codes.hpp"
#include "support/gpu.hpp"

#if SQ_WITH_CUDA
#include "packed.cuh"  // the launchers (a CPU-only build has no CUDA headers; the network test skips there)
#endif

namespace {

sq::Tensor images(std::int64_t n, int channels, std::uint64_t seed) {
  sq::Tensor t({n, channels, 32, 32}, sq::DType::f32, sq::Device::cpu());
  float* x = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) x[i] = 4.f * (sq::philox_uniform_at(seed, 5, i) - 0.5f);
  return t;
}

double relative_difference(const sq::Tensor& a, const sq::Tensor& b) {
  double scale = 1.0, diff = 0.0;
  for (std::int64_t i = 0; i < b.numel(); ++i) scale = std::max(scale, std::fabs(double(b.data<float>()[i])));
  for (std::int64_t i = 0; i < b.numel(); ++i)
    diff = std::max(diff, std::fabs(double(a.data<float>()[i]) - double(b.data<float>()[i])));
  return diff / scale;
}

struct Case {
  std::string arch, quantizer;
  int bits;
};
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.arch << " " << c.quantizer << c.bits;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const std::string& arch : sq::nn::known_architectures()) {
    if (sq::nn::is_imagenet_architecture(arch)) continue;  // 32x32 inputs here (AlexNet-BN needs 64 and up)
    for (const auto& [q, bits] : std::vector<std::pair<std::string, int>>{{"bwn", 0}, {"twn", 0}, {"kbit", 3}})
      out.push_back({arch, q, bits});
  }
  return out;
}

class PackedGpuInference : public ::testing::TestWithParam<Case> {};

TEST_P(PackedGpuInference, LogitsMatchTheCpuPackedPathAndTheEvalForward) {
  SQ_REQUIRE_GPU();
  const Case& c = GetParam();
  sq::nn::ModelSpec spec;
  spec.arch = c.arch;
  spec.in_channels = c.arch == "small_cnn" ? 1 : 3;
  spec.quantize_first = c.arch != "resnet32";  // one architecture with a full-precision first conv
  auto net = sq::deploy::detail::synthetic_net(spec, c.quantizer, c.bits, 17);
  for (bool fold : {false, true}) {
    sq::deploy::PackOptions options;
    options.fold_bn = fold;
    options.normalization = net->normalization;
    const std::string path = ::testing::TempDir() + "sq_packed_gpu_" + std::to_string(::getpid()) + ".sqm";
    sq::train::write_checkpoint(path, sq::deploy::pack_model(*net->model, options));
    sq::deploy::PackedNetwork cpu = sq::deploy::PackedNetwork::load(path, c.arch);
    sq::deploy::PackedNetwork gpu = sq::deploy::PackedNetwork::load(path, c.arch, sq::Device::cuda(0));
    std::remove(path.c_str());
    EXPECT_TRUE(gpu.info().device.is_cuda());
    EXPECT_EQ(gpu.info().weight_bytes, cpu.info().weight_bytes);
    for (std::int64_t n : {1, 3}) {
      const sq::Tensor x = images(n, spec.in_channels, 29 + static_cast<std::uint64_t>(n));
      const sq::Tensor reference = sq::deploy::detail::reference_forward(*net, x).clone();
      const sq::Tensor on_cpu = cpu.forward(x);
      const sq::Tensor from_host = gpu.forward(x);
      const sq::Tensor from_device = gpu.forward(x.to(sq::Device::cuda(0)));
      ASSERT_EQ(from_host.shape(), reference.shape());
      EXPECT_TRUE(from_host.device().is_cpu());
      EXPECT_LT(relative_difference(from_host, on_cpu), 2e-5) << "GPU vs CPU packed, fold " << fold << ", n " << n;
      EXPECT_LT(relative_difference(from_host, reference), 2e-5) << "GPU vs eval forward, fold " << fold << ", n " << n;
      EXPECT_EQ(relative_difference(from_device, from_host), 0.0) << "device images give other logits";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryArchitecture, PackedGpuInference, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.arch + "_" + info.param.quantizer + std::to_string(info.param.bits);
                         });

#if SQ_WITH_CUDA
// The kernels at a real layer's size (VGG-9's 256 -> 256 3x3 conv at 8x8, batch 4; its FC at batch 2) against
// their host twins: the device's own fma and shared-memory tiling, bit for bit.
TEST(PackedGpuKernels, ConvAndLinearMatchTheHostTwinBitForBit) {
  SQ_REQUIRE_GPU();
  for (int bits : {1, 2, 4}) {
    const int c = 256, o = 256, hw = 8;
    const std::int64_t cols = std::int64_t(c) * 9, row_bytes = sq::deploy::packed_row_bytes(cols, bits);
    std::vector<std::uint8_t> codes(static_cast<std::size_t>(o * row_bytes), 0);
    std::vector<float> scales(o), bias(o);
    for (int r = 0; r < o; ++r) {
      scales[r] = 0.01f + 0.1f * sq::philox_uniform_at(3, 1, r);
      bias[r] = sq::philox_uniform_at(3, 2, r) - 0.5f;
      for (std::int64_t k = 0; k < cols; ++k) {
        const float u = sq::philox_uniform_at(3, 3, r * cols + k);
        const int level = bits == 1 ? (u < 0.5f ? -1 : 1) : static_cast<int>(u * float(1 << bits)) - (1 << (bits - 1));
        sq::deploy::put_code(codes.data() + r * row_bytes, k, bits, level);
      }
    }
    std::vector<float> input(static_cast<std::size_t>(4 * c * hw * hw));
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = 4.f * (sq::philox_uniform_at(7, 4, i) - 0.5f);
    sq::detail::ConvGeometry g;
    g.n = 4;
    g.c = c;
    g.h = g.w = g.out_h = g.out_w = hw;
    g.kernel = 3;
    g.stride = 1;
    g.pad = 1;
    sq::detail::PackedGemmWeight w{codes.data(), scales.data(), nullptr, o, cols, row_bytes, bits};
    std::vector<float> expected(static_cast<std::size_t>(4 * o * hw * hw));
    sq::cpu::packed_conv_forward(expected.data(), w, bias.data(), input.data(), g);

    const sq::Device d = sq::Device::cuda(0);
    const sq::Tensor d_codes = sq::Tensor::from_vector(codes, {o, row_bytes}).to(d);
    const sq::Tensor d_scales = sq::Tensor::from_vector(scales, {o}).to(d);
    const sq::Tensor d_bias = sq::Tensor::from_vector(bias, {o}).to(d);
    const sq::Tensor d_x = sq::Tensor::from_vector(input, {4, c, hw, hw}).to(d);
    sq::Tensor d_y({4, o, hw, hw}, sq::DType::f32, d);
    sq::detail::PackedGemmWeight dw{
        static_cast<const std::uint8_t*>(d_codes.raw()), d_scales.data<float>(), nullptr, o, cols, row_bytes, bits};
    sq::gpu::packed_conv_forward(d_y.data<float>(), dw, d_bias.data<float>(), d_x.data<float>(), g, nullptr);
    EXPECT_EQ(d_y.to_vector<float>(), expected) << "conv, bits " << bits;

    // FC: the conv's rows as a [o, cols] weight over 2 inputs of cols features.
    std::vector<float> fc_expected(static_cast<std::size_t>(2 * o));
    sq::cpu::packed_linear_forward(fc_expected.data(), w, bias.data(), input.data(), 2);
    sq::Tensor d_fc({2, o}, sq::DType::f32, d);
    sq::gpu::packed_linear_forward(d_fc.data<float>(), dw, d_bias.data<float>(), d_x.data<float>(), 2, nullptr);
    EXPECT_EQ(d_fc.to_vector<float>(), fc_expected) << "linear, bits " << bits;
  }
}
#endif

}  // namespace
