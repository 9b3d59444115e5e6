// kernels/batchnorm.cu on the emulator against src/cpu/batchnorm: training forward (statistics, running
// statistics, output), evaluation forward and backward, on ragged shapes with several slice counts. The kernels
// reduce in float partials (a different order from the twin's double sums), so values are held to the GPU tests'
// tolerance, and every schedule must give the same bits. A NaN input propagates to the variance as on the host,
// and more channels than a grid may have blocks in y are covered by the channel loop.
#include <cmath>
#include <string>
#include <vector>

#include "cpu/batchnorm.hpp"
#include "emu_kernels.hpp"
#include "emu_support.hpp"

namespace {

using namespace sq::emu::testing;

constexpr double kTolerance = 1e-4;  // tests/gpu/test_nn_parity.cu

struct Shape {
  std::int64_t n, c, hw;
  int slices;
};

struct Outputs {
  std::vector<float> y, mean, invstd, running_mean, running_var, eval_y, dx, dgamma, dbeta;
};

Outputs run(bool emulated, const Shape& s, const std::vector<float>& x, const std::vector<float>& dy,
            const std::vector<float>& gamma, const std::vector<float>& beta) {
  const auto c = static_cast<std::size_t>(s.c), total = x.size();
  Outputs o;
  o.y = poisoned<float>(total);
  o.mean = poisoned<float>(c);
  o.invstd = poisoned<float>(c);
  o.running_mean = std::vector<float>(c, 0.25f);
  o.running_var = std::vector<float>(c, 2.f);
  o.eval_y = poisoned<float>(total);
  o.dx = poisoned<float>(total);
  o.dgamma = poisoned<float>(c);
  o.dbeta = poisoned<float>(c);
  auto partials = poisoned<float>(static_cast<std::size_t>(sq::gpu_emu::batchnorm_partials_size(s.c, s.slices)));
  const float momentum = 0.1f, eps = 1e-5f;
  if (emulated) {
    sq::gpu_emu::batchnorm_forward_train(o.y.data(), o.mean.data(), o.invstd.data(), o.running_mean.data(),
                                         o.running_var.data(), partials.data(), x.data(), gamma.data(), beta.data(),
                                         s.n, s.c, s.hw, s.slices, momentum, eps, nullptr);
    sq::gpu_emu::batchnorm_forward_eval(o.eval_y.data(), x.data(), gamma.data(), beta.data(), o.running_mean.data(),
                                        o.running_var.data(), s.n, s.c, s.hw, eps, nullptr);
    sq::gpu_emu::batchnorm_backward(o.dx.data(), o.dgamma.data(), o.dbeta.data(), partials.data(), dy.data(), x.data(),
                                    o.mean.data(), o.invstd.data(), gamma.data(), s.n, s.c, s.hw, s.slices, nullptr);
  } else {
    sq::cpu::batchnorm_forward_train(o.y.data(), o.mean.data(), o.invstd.data(), o.running_mean.data(),
                                     o.running_var.data(), partials.data(), x.data(), gamma.data(), beta.data(), s.n,
                                     s.c, s.hw, s.slices, momentum, eps);
    sq::cpu::batchnorm_forward_eval(o.eval_y.data(), x.data(), gamma.data(), beta.data(), o.running_mean.data(),
                                    o.running_var.data(), s.n, s.c, s.hw, eps);
    sq::cpu::batchnorm_backward(o.dx.data(), o.dgamma.data(), o.dbeta.data(), partials.data(), dy.data(), x.data(),
                                o.mean.data(), o.invstd.data(), gamma.data(), s.n, s.c, s.hw, s.slices);
  }
  return o;
}

Bytes bytes_of(const Outputs& o) {
  Bytes b;
  for (const auto* v :
       {&o.y, &o.mean, &o.invstd, &o.running_mean, &o.running_var, &o.eval_y, &o.dx, &o.dgamma, &o.dbeta}) {
    append(b, *v);
  }
  return b;
}

void check(const Shape& s, std::uint64_t seed, const std::string& what) {
  const auto total = static_cast<std::size_t>(s.n * s.c * s.hw);
  // A large mean against the spread: the shifted sums must not cancel.
  const auto x = random_floats(total, seed, 1, 3.f, 5.f);
  const auto dy = random_floats(total, seed, 2, -1.f, 1.f);
  const auto gamma = random_floats(static_cast<std::size_t>(s.c), seed, 3, 0.5f, 1.5f);
  const auto beta = random_floats(static_cast<std::size_t>(s.c), seed, 4, -0.5f, 0.5f);
  const Outputs twin = run(false, s, x, dy, gamma, beta);
  in_every_schedule(what, [&] {
    const Outputs emu = run(true, s, x, dy, gamma, beta);
    EXPECT_LT(relative_error(twin.y, emu.y), kTolerance) << "y";
    EXPECT_LT(relative_error(twin.mean, emu.mean), kTolerance) << "save_mean";
    EXPECT_LT(relative_error(twin.invstd, emu.invstd), kTolerance) << "save_invstd";
    EXPECT_LT(relative_error(twin.running_mean, emu.running_mean), kTolerance) << "running_mean";
    EXPECT_LT(relative_error(twin.running_var, emu.running_var), kTolerance) << "running_var";
    EXPECT_LT(relative_error(twin.eval_y, emu.eval_y), kTolerance) << "evaluation y";
    EXPECT_LT(relative_error(twin.dx, emu.dx), kTolerance) << "dx";
    EXPECT_LT(relative_error(twin.dgamma, emu.dgamma), kTolerance) << "dgamma";
    EXPECT_LT(relative_error(twin.dbeta, emu.dbeta), kTolerance) << "dbeta";
    return bytes_of(emu);
  });
}

TEST(EmuBatchNorm, TrainingEvaluationAndBackwardMatchTheTwin) {
  const Shape shapes[] = {{7, 16, 90, 1}, {3, 3, 257, 2}, {5, 30, 1, 3}, {1, 2, 1, 1}, {16, 8, 64, 4}, {2, 5, 7, 2}};
  for (const Shape& s : shapes) {
    check(s, suite_seed() + static_cast<std::uint64_t>(s.n * 131 + s.c),
          "batchnorm " + std::to_string(s.n) + "x" + std::to_string(s.c) + "x" + std::to_string(s.hw) + " slices " +
              std::to_string(s.slices));
  }
}

TEST(EmuBatchNorm, MoreChannelsThanGridRowsLoopOverChannels) {
  // The hardware cap is 65535 blocks in y; lowered here so that 13 channels need the channel loop.
  const unsigned saved = sq::emu::limits().max_grid_yz;
  sq::emu::limits().max_grid_yz = 5;
  check({3, 13, 20, 2}, suite_seed() + 5, "batchnorm with gridDim.y capped at 5");
  bool capped = false;
  for (const auto& r : sq::emu::launch_log())
    capped = capped || (r.grid[1] == 5 && r.kernel.find("partials") != std::string::npos);
  EXPECT_TRUE(capped) << "the partials launch did not use the capped grid:\n" << sq::emu::describe_launch_log();
  sq::emu::limits().max_grid_yz = saved;
}

TEST(EmuBatchNorm, ANanInputPropagatesToTheVarianceLikeTheTwin) {
  const Shape s{4, 3, 10, 2};
  auto x = random_floats(120, suite_seed() + 9, 1, -1.f, 1.f);
  x[1 * 10 + 3] = std::nanf("");  // channel 1 of image 0
  const auto dy = random_floats(120, suite_seed() + 9, 2, -1.f, 1.f);
  const std::vector<float> gamma(3, 1.f), beta(3, 0.f);
  const Outputs twin = run(false, s, x, dy, gamma, beta);
  ASSERT_TRUE(std::isnan(twin.running_var[1])) << "the twin propagates NaN";
  in_every_schedule("batchnorm NaN", [&] {
    const Outputs emu = run(true, s, x, dy, gamma, beta);
    EXPECT_TRUE(std::isnan(emu.invstd[1])) << "a NaN variance must not be clamped to 0";
    EXPECT_TRUE(std::isnan(emu.running_var[1]));
    for (int ch : {0, 2}) {
      EXPECT_FALSE(std::isnan(emu.invstd[ch])) << ch;
      EXPECT_NEAR(emu.running_var[ch], twin.running_var[ch], 1e-5) << ch;
    }
    return bytes_of(emu);
  });
}

}  // namespace
