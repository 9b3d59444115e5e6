// kernels/sgd.cu on the emulator against src/cpu/sgd: the float4 path (16-byte aligned buffers) and the scalar
// path (misaligned views), lr by value and from device memory, ragged sizes and decay boundaries, bit for bit.
#include <string>
#include <vector>

#include "cpu/sgd.hpp"
#include "emu_kernels.hpp"
#include "emu_support.hpp"

namespace {

using namespace sq::emu::testing;

TEST(EmuSgd, BothPathsMatchTheTwinBitForBit) {
  for (std::int64_t numel : {1, 3, 5, 1027, 4096 * 256 * 4 + 9}) {
    for (int offset : {0, 1}) {  // 0: float4 kernel; 1: every buffer misaligned, the scalar kernel
      const std::uint64_t seed = suite_seed() + static_cast<std::uint64_t>(numel * 2 + offset);
      const auto n = static_cast<std::size_t>(numel) + 1;
      const auto w0 = random_floats(n, seed, 1, -1.f, 1.f), v0 = random_floats(n, seed, 2, -0.1f, 0.1f);
      const auto g = random_floats(n, seed, 3, -1.f, 1.f);
      const std::int64_t decayed_end = numel * 2 / 3;
      const float lr = 0.05f, momentum = 0.9f, decay = 5e-4f;
      std::vector<float> w = w0, v = v0;
      sq::cpu::sgd_momentum_update(w.data() + offset, v.data() + offset, g.data() + offset, numel, decayed_end, lr,
                                   momentum, decay);
      in_every_schedule("sgd numel " + std::to_string(numel) + " offset " + std::to_string(offset), [&] {
        // std::vector<float> storage is 16-byte aligned (operator new); + offset floats is not.
        std::vector<float> ew = w0, ev = v0, ew2 = w0, ev2 = v0;
        sq::cuda_emu::sgd_momentum_update(ew.data() + offset, ev.data() + offset, g.data() + offset, numel, decayed_end,
                                          lr, momentum, decay, nullptr);
        sq::cuda_emu::sgd_momentum_update_device_lr(ew2.data() + offset, ev2.data() + offset, g.data() + offset, numel,
                                                    decayed_end, &lr, momentum, decay, nullptr);
        const std::string path = offset == 0 ? "float4" : "scalar";
        EXPECT_NE(sq::emu::launch_log().front().kernel.find(offset == 0 ? "vec4" : "kernel"), std::string::npos);
        EXPECT_EQ(sq::emu::launch_log().front().kernel.find("vec4") != std::string::npos, offset == 0) << path;
        EXPECT_TRUE(same_bits(w, ew)) << path << " values";
        EXPECT_TRUE(same_bits(v, ev)) << path << " velocity";
        EXPECT_TRUE(same_bits(w, ew2)) << path << " values (device lr)";
        EXPECT_TRUE(same_bits(v, ev2)) << path << " velocity (device lr)";
        Bytes b;
        append(b, ew);
        append(b, ev);
        return b;
      });
    }
  }
}

}  // namespace
