// kernels/pool.cu, bias.cu, dropout.cu and loss.cu on the emulator against their host twins, ragged shapes,
// outputs poisoned first, every schedule. Bit for bit where the kernels promise it (pools, bias add, dropout);
// bias gradient and the loss reduce in another order than the twin and are held to the GPU tests' tolerance.
#include <cmath>
#include <string>
#include <vector>

#include "cpu/bias.hpp"
#include "cpu/dropout.hpp"
#include "cpu/loss.hpp"
#include "cpu/pool.hpp"
#include "emu_kernels.hpp"
#include "emu_support.hpp"

namespace {

using namespace sq::emu::testing;

TEST(EmuPool, MaxAndGlobalAveragePoolingMatchTheTwinBitForBit) {
  struct Case {
    std::int64_t planes;
    int h, w, kernel, stride;
  };
  const Case cases[] = {{6, 8, 8, 2, 2}, {3, 9, 7, 3, 2}, {2, 32, 32, 2, 2}, {5, 5, 5, 3, 1}, {1, 1, 1, 1, 1}};
  for (const Case& k : cases) {
    const int oh = (k.h - k.kernel) / k.stride + 1, ow = (k.w - k.kernel) / k.stride + 1;
    const auto in_n = static_cast<std::size_t>(k.planes * k.h * k.w),
               out_n = static_cast<std::size_t>(k.planes * oh * ow);
    const std::uint64_t seed = suite_seed() + static_cast<std::uint64_t>(k.h * 100 + k.kernel);
    auto x = random_floats(in_n, seed, 1, -1.f, 1.f);
    for (std::size_t i = 0; i < in_n; i += 5) x[i] = 0.5f;  // ties: the first maximum wins on both sides
    const auto dy = random_floats(out_n, seed, 2, -1.f, 1.f);
    const auto gdy = random_floats(static_cast<std::size_t>(k.planes), seed, 3, -1.f, 1.f);
    const std::int64_t hw = k.h * k.w;
    std::vector<float> y(out_n), dx(in_n), gy(static_cast<std::size_t>(k.planes)), gdx(in_n);
    std::vector<std::int32_t> arg(out_n);
    sq::cpu::maxpool2d_forward(y.data(), arg.data(), x.data(), k.planes, k.h, k.w, k.kernel, k.stride, oh, ow);
    sq::cpu::maxpool2d_backward(dx.data(), dy.data(), arg.data(), k.planes, k.h, k.w, k.kernel, k.stride, oh, ow);
    sq::cpu::global_avgpool_forward(gy.data(), x.data(), k.planes, hw);
    sq::cpu::global_avgpool_backward(gdx.data(), gdy.data(), k.planes, hw);
    for (unsigned cap : {65535u, 2u}) {
      sq::emu::limits().max_grid_yz = cap;  // 2: the plane loop of every plane kernel
      in_every_schedule("pool " + std::to_string(k.h) + "x" + std::to_string(k.w) + " k" + std::to_string(k.kernel) +
                            " grid y <= " + std::to_string(cap),
                        [&] {
                          auto ey = poisoned<float>(out_n), edx = poisoned<float>(in_n);
                          auto egy = poisoned<float>(gy.size()), egdx = poisoned<float>(in_n);
                          auto earg = poisoned<std::int32_t>(out_n);
                          sq::gpu_emu::maxpool2d_forward(ey.data(), earg.data(), x.data(), k.planes, k.h, k.w, k.kernel,
                                                         k.stride, oh, ow, nullptr);
                          sq::gpu_emu::maxpool2d_backward(edx.data(), dy.data(), earg.data(), k.planes, k.h, k.w,
                                                          k.kernel, k.stride, oh, ow, nullptr);
                          sq::gpu_emu::global_avgpool_forward(egy.data(), x.data(), k.planes, hw, nullptr);
                          sq::gpu_emu::global_avgpool_backward(egdx.data(), gdy.data(), k.planes, hw, nullptr);
                          EXPECT_TRUE(same_bits(y, ey)) << "maxpool y";
                          EXPECT_TRUE(same_bits(arg, earg)) << "maxpool argmax";
                          EXPECT_TRUE(same_bits(dx, edx)) << "maxpool dx";
                          EXPECT_TRUE(same_bits(gy, egy)) << "avgpool y";
                          EXPECT_TRUE(same_bits(gdx, egdx)) << "avgpool dx";
                          Bytes b;
                          append(b, ey);
                          append(b, earg);
                          append(b, edx);
                          append(b, egy);
                          append(b, egdx);
                          return b;
                        });
    }
    sq::emu::limits().max_grid_yz = 65535;
  }
}

TEST(EmuBias, AddIsExactAndTheGradientMatchesTheTwin) {
  struct Case {
    std::int64_t outer, channels, inner;
  };
  // inner >= 256 (per-plane loop) and < 256 (the flattened small-plane loop), and (N, C) tensors (inner 1).
  const Case cases[] = {{3, 5, 300}, {7, 4, 64}, {16, 10, 1}, {1, 1, 1}, {2, 3, 257}};
  for (const Case& k : cases) {
    const auto n = static_cast<std::size_t>(k.outer * k.channels * k.inner);
    const std::uint64_t seed = suite_seed() + static_cast<std::uint64_t>(k.inner * 7 + k.channels);
    const auto y0 = random_floats(n, seed, 1, -1.f, 1.f);
    const auto bias = random_floats(static_cast<std::size_t>(k.channels), seed, 2, -1.f, 1.f);
    const auto dy = random_floats(n, seed, 3, -1.f, 1.f);
    std::vector<float> y = y0, db(static_cast<std::size_t>(k.channels));
    sq::cpu::bias_add(y.data(), bias.data(), k.outer, k.channels, k.inner);
    sq::cpu::bias_grad(db.data(), dy.data(), k.outer, k.channels, k.inner);
    sq::emu::limits().max_grid_yz = 3;
    in_every_schedule(
        "bias " + std::to_string(k.outer) + "x" + std::to_string(k.channels) + "x" + std::to_string(k.inner), [&] {
          std::vector<float> ey = y0;
          auto edb = poisoned<float>(db.size());
          sq::gpu_emu::bias_add(ey.data(), bias.data(), k.outer, k.channels, k.inner, nullptr);
          sq::gpu_emu::bias_grad(edb.data(), dy.data(), k.outer, k.channels, k.inner, nullptr);
          EXPECT_TRUE(same_bits(y, ey)) << "bias_add";
          EXPECT_LT(relative_error(db, edb), 1e-5) << "bias_grad";
          Bytes b;
          append(b, ey);
          append(b, edb);
          return b;
        });
    sq::emu::limits().max_grid_yz = 65535;
  }
}

TEST(EmuDropout, MaskAndScalingMatchTheTwinBitForBit) {
  for (std::int64_t n : {1, 3, 4, 1001, 4096 * 4 * 256 + 6}) {
    const std::uint64_t seed = suite_seed() + static_cast<std::uint64_t>(n);
    const auto x = random_floats(static_cast<std::size_t>(n), seed, 1, -1.f, 1.f);
    const auto dy = random_floats(static_cast<std::size_t>(n), seed, 2, -1.f, 1.f);
    const float p = 0.3f, scale = 1.f / 0.7f;
    const std::uint64_t step = seed % 977, layer = 3;
    std::vector<float> y(x.size()), dx(x.size());
    std::vector<std::uint8_t> mask(x.size());
    sq::cpu::dropout_forward(y.data(), mask.data(), x.data(), n, p, scale, seed, layer, step, nullptr);
    sq::cpu::dropout_backward(dx.data(), dy.data(), mask.data(), n, scale);
    in_every_schedule("dropout n=" + std::to_string(n), [&] {
      auto ey = poisoned<float>(x.size()), edx = poisoned<float>(x.size());
      auto emask = poisoned<std::uint8_t>(x.size());
      // The step from "device memory" (a captured graph's step), then by value.
      sq::gpu_emu::dropout_forward(ey.data(), emask.data(), x.data(), n, p, scale, seed, layer, 0, &step, nullptr);
      EXPECT_TRUE(same_bits(mask, emask)) << "mask (step pointer)";
      sq::gpu_emu::dropout_forward(ey.data(), emask.data(), x.data(), n, p, scale, seed, layer, step, nullptr, nullptr);
      sq::gpu_emu::dropout_backward(edx.data(), dy.data(), emask.data(), n, scale, nullptr);
      EXPECT_TRUE(same_bits(y, ey)) << "y";
      EXPECT_TRUE(same_bits(mask, emask)) << "mask";
      EXPECT_TRUE(same_bits(dx, edx)) << "dx";
      Bytes b;
      append(b, ey);
      append(b, emask);
      append(b, edx);
      return b;
    });
  }
}

TEST(EmuLoss, SoftmaxCrossEntropyMatchesTheTwin) {
  struct Case {
    int rows, classes;
  };
  const Case cases[] = {{1, 10}, {7, 3}, {255, 10}, {256, 100}, {600, 10}};
  for (const Case& k : cases) {
    const auto n = static_cast<std::size_t>(k.rows) * static_cast<std::size_t>(k.classes);
    const std::uint64_t seed = suite_seed() + static_cast<std::uint64_t>(k.rows * 1000 + k.classes);
    const auto logits = random_floats(n, seed, 1, -4.f, 4.f);
    std::vector<std::int32_t> labels(static_cast<std::size_t>(k.rows));
    for (int r = 0; r < k.rows; ++r) {
      labels[static_cast<std::size_t>(r)] =
          static_cast<std::int32_t>(sq::philox_uniform_at(seed, 2, static_cast<std::uint64_t>(r)) * k.classes) %
          k.classes;
    }
    std::vector<float> loss(1), grad(n);
    std::vector<std::int32_t> correct(1);
    sq::cpu::softmax_xent_forward(loss.data(), correct.data(), grad.data(), logits.data(), labels.data(), k.rows,
                                  k.classes);
    in_every_schedule("softmax xent " + std::to_string(k.rows) + "x" + std::to_string(k.classes), [&] {
      auto eloss = poisoned<float>(1), egrad = poisoned<float>(n);
      auto ecorrect = poisoned<std::int32_t>(1);
      sq::gpu_emu::softmax_xent_forward(eloss.data(), ecorrect.data(), egrad.data(), logits.data(), labels.data(),
                                        k.rows, k.classes, nullptr);
      EXPECT_TRUE(same_bits(grad, egrad)) << "dlogits (per row, the same formula)";
      EXPECT_EQ(correct[0], ecorrect[0]) << "correct";
      EXPECT_NEAR(loss[0], eloss[0], 1e-5 * std::fabs(loss[0])) << "loss";
      Bytes b;
      append(b, eloss);
      append(b, egrad);
      append(b, ecorrect);
      return b;
    });
  }
}

}  // namespace
