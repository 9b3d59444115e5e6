// kernels/packed.cu on the emulator against src/cpu/packed (inference from packed low-bit weights): conv as an
// implicit GEMM and FC, at every code width the format has (1 = BWN, 2 = TWN, 3 and 8 = k-bit) and fp32, with
// ragged shapes (partial row and column tiles, k not a multiple of the slice, padding, stride 2, batch > 1), and
// the inference BatchNorm; bit for bit in every schedule.
#include <array>

#include "cpu/packed.hpp"
#include "emu_kernels.hpp"
#include "emu_support.hpp"
#include "sq/deploy/packed_codes.hpp"

namespace {

using namespace sq::emu::testing;
using sq::detail::ConvGeometry;
using sq::detail::PackedGemmWeight;

// Random codes (every level of the width, -2^(bits-1) included: the decoder must handle it) and scales, or fp32.
struct Weights {
  std::vector<std::uint8_t> codes;
  std::vector<float> scales, fp32, bias;
  PackedGemmWeight w;
};

Weights make_weights(std::int64_t rows, std::int64_t cols, int bits, std::uint64_t seed) {
  Weights out;
  out.bias = random_floats(static_cast<std::size_t>(rows), seed, 3, -0.5f, 0.5f);
  out.w.rows = rows;
  out.w.cols = cols;
  if (bits == 0) {
    out.fp32 = random_floats(static_cast<std::size_t>(rows * cols), seed, 4, -1.f, 1.f);
    out.w.fp32 = out.fp32.data();
    return out;
  }
  const std::int64_t row_bytes = sq::deploy::packed_row_bytes(cols, bits);
  out.codes.assign(static_cast<std::size_t>(rows * row_bytes), 0);
  const auto u = random_floats(static_cast<std::size_t>(rows * cols), seed, 5, 0.f, 1.f);
  for (std::int64_t o = 0; o < rows; ++o)
    for (std::int64_t k = 0; k < cols; ++k) {
      const float v = u[static_cast<std::size_t>(o * cols + k)];
      const int level = bits == 1 ? (v < 0.5f ? -1 : 1) : static_cast<int>(v * float(1 << bits)) - (1 << (bits - 1));
      sq::deploy::put_code(out.codes.data() + o * row_bytes, k, bits, level);
    }
  out.scales = random_floats(static_cast<std::size_t>(rows), seed, 6, 0.01f, 0.5f);
  out.w.codes = out.codes.data();
  out.w.scales = out.scales.data();
  out.w.row_bytes = row_bytes;
  out.w.bits = bits;
  return out;
}

TEST(EmuPacked, ConvolutionMatchesTheTwinBitForBit) {
  struct Shape {
    std::int64_t n;
    int c, h, w, kernel, stride, pad, out;
  };
  const Shape shapes[] = {{2, 3, 7, 5, 3, 1, 1, 70},  // 2 row tiles, 70 columns, k = 27 (two slices, one partial)
                          {1, 5, 9, 9, 3, 2, 0, 16},  // stride 2, no padding
                          {3, 2, 4, 4, 1, 1, 0, 9}};  // 1 x 1 kernel (the ResNet shortcut), k = 2
  int index = 0;
  for (const Shape& s : shapes) {
    for (int bits : {1, 2, 3, 8, 0}) {
      const std::uint64_t seed = suite_seed() + static_cast<std::uint64_t>(100 * index++);
      ConvGeometry g;
      g.n = s.n;
      g.c = s.c;
      g.h = s.h;
      g.w = s.w;
      g.kernel = s.kernel;
      g.stride = s.stride;
      g.pad = s.pad;
      g.out_h = (s.h + 2 * s.pad - s.kernel) / s.stride + 1;
      g.out_w = (s.w + 2 * s.pad - s.kernel) / s.stride + 1;
      const Weights wt = make_weights(s.out, std::int64_t(s.c) * s.kernel * s.kernel, bits, seed);
      const auto x = random_floats(static_cast<std::size_t>(s.n * s.c * s.h * s.w), seed, 7, -2.f, 2.f);
      const std::size_t y_size = static_cast<std::size_t>(s.n * s.out * g.out_h * g.out_w);
      std::vector<float> y_ref(y_size);
      const bool with_bias = bits != 3;  // one case without a bias
      const float* bias = with_bias ? wt.bias.data() : nullptr;
      sq::cpu::packed_conv_forward(y_ref.data(), wt.w, bias, x.data(), g);
      in_every_schedule("packed conv " + std::to_string(index) + " bits " + std::to_string(bits), [&] {
        auto y = poisoned<float>(y_size);
        sq::gpu_emu::packed_conv_forward(y.data(), wt.w, bias, x.data(), g, nullptr);
        EXPECT_TRUE(same_bits(y_ref, y));
        Bytes out;
        append(out, y);
        return out;
      });
    }
  }
}

TEST(EmuPacked, LinearMatchesTheTwinBitForBit) {
  struct Shape {
    std::int64_t batch, in, out;
  };
  int index = 0;
  for (const Shape& s : {Shape{1, 37, 67}, Shape{3, 130, 10}, Shape{65, 16, 5}}) {
    for (int bits : {1, 2, 3, 8, 0}) {
      const std::uint64_t seed = suite_seed() + static_cast<std::uint64_t>(1000 + 100 * index++);
      const Weights wt = make_weights(s.out, s.in, bits, seed);
      const auto x = random_floats(static_cast<std::size_t>(s.batch * s.in), seed, 8, -2.f, 2.f);
      std::vector<float> y_ref(static_cast<std::size_t>(s.batch * s.out));
      sq::cpu::packed_linear_forward(y_ref.data(), wt.w, wt.bias.data(), x.data(), s.batch);
      // The twin's sum by hand for one output: the twin itself is held to the definition.
      float sum = 0.f;
      for (std::int64_t k = 0; k < s.in; ++k)
        sum = std::fma(sq::detail::packed_gemm_factor(wt.w, 0, k), x[static_cast<std::size_t>(k)], sum);
      EXPECT_EQ(y_ref[0], std::fma(bits ? wt.scales[0] : 1.f, sum, wt.bias[0]));
      in_every_schedule("packed linear " + std::to_string(index) + " bits " + std::to_string(bits), [&] {
        auto y = poisoned<float>(y_ref.size());
        sq::gpu_emu::packed_linear_forward(y.data(), wt.w, wt.bias.data(), x.data(), s.batch, nullptr);
        EXPECT_TRUE(same_bits(y_ref, y));
        Bytes out;
        append(out, y);
        return out;
      });
    }
  }
}

TEST(EmuPacked, DecodingIsTheDocumentedLayout) {
  // TWN levels +1, -1, 0, +1 -> 0b01001101; BWN bits 1, 0 -> +1, -1; 3-bit 0b100 = -4 (sign extension).
  const std::uint8_t twn = 0x4d, bwn = 0x01, k3 = 0x04;
  EXPECT_EQ(sq::detail::packed_level(&twn, 0, 2), 1);
  EXPECT_EQ(sq::detail::packed_level(&twn, 1, 2), -1);
  EXPECT_EQ(sq::detail::packed_level(&twn, 2, 2), 0);
  EXPECT_EQ(sq::detail::packed_level(&twn, 3, 2), 1);
  EXPECT_EQ(sq::detail::packed_level(&bwn, 0, 1), 1);
  EXPECT_EQ(sq::detail::packed_level(&bwn, 1, 1), -1);
  EXPECT_EQ(sq::detail::packed_level(&k3, 0, 3), -4);
}

TEST(EmuPacked, ChannelAffineMatchesTheTwinBitForBit) {
  for (const auto& shape : {std::array<std::int64_t, 3>{2, 7, 33}, {5, 3, 1}, {1, 9, 300}}) {
    // Named copies, not a structured binding: the lambda below captures them (C++17 cannot capture bindings).
    const std::int64_t outer = shape[0], channels = shape[1], inner = shape[2];
    const std::uint64_t seed = suite_seed() + static_cast<std::uint64_t>(outer * 1000 + inner);
    const std::size_t n = static_cast<std::size_t>(outer * channels * inner);
    const auto x = random_floats(n, seed, 1, -2.f, 2.f);
    const auto scale = random_floats(static_cast<std::size_t>(channels), seed, 2, -1.5f, 1.5f);
    const auto shift = random_floats(static_cast<std::size_t>(channels), seed, 3, -0.5f, 0.5f);
    std::vector<float> y_ref(n);
    sq::cpu::channel_affine(y_ref.data(), x.data(), scale.data(), shift.data(), outer, channels, inner);
    in_every_schedule("channel affine inner " + std::to_string(inner), [&] {
      auto y = poisoned<float>(n);
      sq::gpu_emu::channel_affine(y.data(), x.data(), scale.data(), shift.data(), outer, channels, inner, nullptr);
      EXPECT_TRUE(same_bits(y_ref, y));
      Bytes out;
      append(out, y);
      return out;
    });
  }
}

}  // namespace
