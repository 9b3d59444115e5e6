// kernels/activation.cu on the emulator against src/cpu/activation: ReLU forward/backward and the residual add,
// bit for bit, ragged sizes (one element, partial blocks, grid-stride wrap beyond the 4096-block cap).
#include "cpu/activation.hpp"
#include "emu_kernels.hpp"
#include "emu_support.hpp"

namespace {

using namespace sq::emu::testing;

TEST(EmuActivation, ReluAndAddMatchTheTwinBitForBit) {
  for (std::int64_t n : {1, 255, 257, 3000, 4096 * 256 + 77}) {
    const std::uint64_t seed = suite_seed() + static_cast<std::uint64_t>(n);
    const auto x = random_floats(static_cast<std::size_t>(n), seed, 1, -2.f, 2.f);
    const auto dy = random_floats(static_cast<std::size_t>(n), seed, 2, -1.f, 1.f);
    std::vector<float> y_ref(x.size()), dx_ref(x.size()), sum_ref(x.size());
    sq::cpu::relu_forward(y_ref.data(), x.data(), n);
    sq::cpu::relu_backward(dx_ref.data(), dy.data(), y_ref.data(), n);
    sq::cpu::add(sum_ref.data(), x.data(), dy.data(), n);
    in_every_schedule("relu/add n=" + std::to_string(n), [&] {
      auto y = poisoned<float>(x.size()), dx = poisoned<float>(x.size()), sum = poisoned<float>(x.size());
      sq::gpu_emu::relu_forward(y.data(), x.data(), n, nullptr);
      sq::gpu_emu::relu_backward(dx.data(), dy.data(), y.data(), n, nullptr);
      sq::gpu_emu::add(sum.data(), x.data(), dy.data(), n, nullptr);
      EXPECT_TRUE(same_bits(y_ref, y)) << "relu_forward";
      EXPECT_TRUE(same_bits(dx_ref, dx)) << "relu_backward";
      EXPECT_TRUE(same_bits(sum_ref, sum)) << "add";
      Bytes out;
      append(out, y);
      append(out, dx);
      append(out, sum);
      return out;
    });
  }
}

}  // namespace
