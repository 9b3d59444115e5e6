// The synchronised-BN phases of kernels/batchnorm.cu on the emulator: each phase against its host twin (the sums
// reduce in float partials, so to the GPU tests' tolerance; the phases that only apply formulas to given sums bit for
// bit), a world of one (the phases back to back, the all-reduce the identity) against the fused kernels, and two
// emulated ranks (the all-reduce: the host adds their sums) against the twin at the whole batch. Every schedule must
// give the same bits.
#include <string>
#include <vector>

#include "cpu/batchnorm.hpp"
#include "emu_kernels.hpp"
#include "emu_support.hpp"

namespace {

using namespace sq::emu::testing;

constexpr double kTolerance = 1e-4;  // tests/gpu/test_nn_parity.cu
constexpr float kMomentum = 0.1f, kEps = 1e-5f;

struct Shape {
  std::int64_t n, c, hw;
  int slices;
  std::string str() const {
    return std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(hw) + " slices " + std::to_string(slices);
  }
};

struct Inputs {
  std::vector<float> x, dy, gamma, beta;
};

Inputs inputs(const Shape& s, std::uint64_t seed) {
  const auto total = static_cast<std::size_t>(s.n * s.c * s.hw), c = static_cast<std::size_t>(s.c);
  // A large mean against the spread, as tests/emu/test_batchnorm.cpp: the sums of x must still give the variance.
  return {random_floats(total, seed, 1, 3.f, 5.f), random_floats(total, seed, 2, -1.f, 1.f),
          random_floats(c, seed, 3, 0.5f, 1.5f), random_floats(c, seed, 4, -0.5f, 0.5f)};
}

std::vector<float> as_floats(const std::vector<double>& v) {
  return std::vector<float>(v.begin(), v.end());
}

// Everything one rank's synchronised step writes.
struct RankOutputs {
  std::vector<float> y, mean, invstd, running_mean, running_var, dx, dgamma, dbeta;
  std::vector<double> forward_sums, backward_sums;
  Bytes bytes() const {
    Bytes b;
    for (const auto* v : {&y, &mean, &invstd, &running_mean, &running_var, &dx, &dgamma, &dbeta}) append(b, *v);
    append(b, forward_sums);
    append(b, backward_sums);
    return b;
  }
};

RankOutputs fresh(std::size_t total, std::size_t c) {
  RankOutputs o;
  o.y = poisoned<float>(total);
  o.mean = poisoned<float>(c);
  o.invstd = poisoned<float>(c);
  o.running_mean = std::vector<float>(c, 0.25f);
  o.running_var = std::vector<float>(c, 2.f);
  o.dx = poisoned<float>(total);
  o.dgamma = poisoned<float>(c);
  o.dbeta = poisoned<float>(c);
  o.forward_sums = poisoned<double>(2 * c);
  o.backward_sums = poisoned<double>(2 * c);
  return o;
}

// `ranks` emulated ranks, each holding n / ranks images of the same global batch, run the phases; between them the
// "all-reduce" adds the ranks' sums on the host (ranks == 1: the identity).
std::vector<RankOutputs> run_ranks(const Shape& global, int ranks, const Inputs& in) {
  const std::int64_t n = global.n / ranks, c = global.c, hw = global.hw, count = global.n * hw;
  const auto local = static_cast<std::size_t>(n * c * hw), cs = static_cast<std::size_t>(c);
  std::vector<RankOutputs> out;
  std::vector<std::vector<float>> partials;
  for (int r = 0; r < ranks; ++r) {
    out.push_back(fresh(local, cs));
    partials.push_back(
        poisoned<float>(static_cast<std::size_t>(sq::gpu_emu::batchnorm_partials_size(c, global.slices))));
  }
  auto all_reduce = [&](auto member, std::size_t offset, std::size_t count_of) {
    std::vector<double> total(count_of, 0.0);
    for (const RankOutputs& o : out)
      for (std::size_t i = 0; i < count_of; ++i) total[i] += (o.*member)[offset + i];
    for (RankOutputs& o : out)
      for (std::size_t i = 0; i < count_of; ++i) (o.*member)[offset + i] = total[i];
  };
  auto x_of = [&](int r) { return in.x.data() + static_cast<std::size_t>(r) * local; };
  auto dy_of = [&](int r) { return in.dy.data() + static_cast<std::size_t>(r) * local; };
  for (int r = 0; r < ranks; ++r) {
    sq::gpu_emu::batchnorm_sums_x(out[r].forward_sums.data(), partials[r].data(), x_of(r), n, c, hw, global.slices,
                                  nullptr);
  }
  all_reduce(&RankOutputs::forward_sums, 0, cs);
  for (int r = 0; r < ranks; ++r) {
    double* sums = out[r].forward_sums.data();
    sq::gpu_emu::batchnorm_sums_centered(sums + c, partials[r].data(), sums, x_of(r), n, c, hw, count, global.slices,
                                         nullptr);
  }
  all_reduce(&RankOutputs::forward_sums, cs, cs);
  for (int r = 0; r < ranks; ++r) {
    RankOutputs& o = out[r];
    sq::gpu_emu::batchnorm_forward_from_sums(o.y.data(), o.mean.data(), o.invstd.data(), o.running_mean.data(),
                                             o.running_var.data(), o.forward_sums.data(), x_of(r), in.gamma.data(),
                                             in.beta.data(), n, c, hw, count, kMomentum, kEps, nullptr);
    sq::gpu_emu::batchnorm_backward_sums(o.backward_sums.data(), o.dgamma.data(), o.dbeta.data(), partials[r].data(),
                                         dy_of(r), x_of(r), o.mean.data(), o.invstd.data(), n, c, hw, global.slices,
                                         nullptr);
  }
  all_reduce(&RankOutputs::backward_sums, 0, 2 * cs);
  for (int r = 0; r < ranks; ++r) {
    RankOutputs& o = out[r];
    sq::gpu_emu::batchnorm_backward_from_sums(o.dx.data(), o.backward_sums.data(), dy_of(r), x_of(r), o.mean.data(),
                                              o.invstd.data(), in.gamma.data(), n, c, hw, count, nullptr);
  }
  return out;
}

const Shape kShapes[] = {{7, 16, 90, 1}, {3, 3, 257, 2}, {5, 30, 1, 3}, {1, 2, 1, 1}, {16, 8, 64, 4}, {2, 5, 7, 2}};

TEST(EmuBatchNormSync, EachPhaseMatchesItsTwin) {
  for (const Shape& s : kShapes) {
    const Inputs in = inputs(s, suite_seed() + static_cast<std::uint64_t>(s.n * 131 + s.c));
    const auto total = in.x.size(), c = static_cast<std::size_t>(s.c);
    const std::int64_t count = s.n * s.hw;
    std::vector<float> unused;  // the twins ignore `partials`
    // The twin chain; each emulated phase below starts from the twin's inputs to it, so it is tested alone.
    RankOutputs twin = fresh(total, c);
    double* fs = twin.forward_sums.data();
    sq::cpu::batchnorm_sums_x(fs, unused.data(), in.x.data(), s.n, s.c, s.hw, s.slices);
    sq::cpu::batchnorm_sums_centered(fs + s.c, unused.data(), fs, in.x.data(), s.n, s.c, s.hw, count, s.slices);
    sq::cpu::batchnorm_forward_from_sums(twin.y.data(), twin.mean.data(), twin.invstd.data(), twin.running_mean.data(),
                                         twin.running_var.data(), fs, in.x.data(), in.gamma.data(), in.beta.data(), s.n,
                                         s.c, s.hw, count, kMomentum, kEps);
    sq::cpu::batchnorm_backward_sums(twin.backward_sums.data(), twin.dgamma.data(), twin.dbeta.data(), unused.data(),
                                     in.dy.data(), in.x.data(), twin.mean.data(), twin.invstd.data(), s.n, s.c, s.hw,
                                     s.slices);
    sq::cpu::batchnorm_backward_from_sums(twin.dx.data(), twin.backward_sums.data(), in.dy.data(), in.x.data(),
                                          twin.mean.data(), twin.invstd.data(), in.gamma.data(), s.n, s.c, s.hw, count);
    in_every_schedule("sync batchnorm phases " + s.str(), [&] {
      RankOutputs emu = fresh(total, c);
      auto partials = poisoned<float>(static_cast<std::size_t>(sq::gpu_emu::batchnorm_partials_size(s.c, s.slices)));
      std::vector<double> sums_x = poisoned<double>(c), centered = poisoned<double>(c);
      sq::gpu_emu::batchnorm_sums_x(sums_x.data(), partials.data(), in.x.data(), s.n, s.c, s.hw, s.slices, nullptr);
      sq::gpu_emu::batchnorm_sums_centered(centered.data(), partials.data(), fs, in.x.data(), s.n, s.c, s.hw, count,
                                           s.slices, nullptr);
      EXPECT_LT(relative_error(as_floats(std::vector<double>(fs, fs + s.c)), as_floats(sums_x)), kTolerance) << "sum x";
      EXPECT_LT(relative_error(as_floats(std::vector<double>(fs + s.c, fs + 2 * s.c)), as_floats(centered)), kTolerance)
          << "sum (x - mean)^2";
      // Formulas applied to given sums: the same arithmetic as the twin, so the same bits.
      sq::gpu_emu::batchnorm_forward_from_sums(
          emu.y.data(), emu.mean.data(), emu.invstd.data(), emu.running_mean.data(), emu.running_var.data(), fs,
          in.x.data(), in.gamma.data(), in.beta.data(), s.n, s.c, s.hw, count, kMomentum, kEps, nullptr);
      EXPECT_TRUE(same_bits(twin.y, emu.y)) << "y";
      EXPECT_TRUE(same_bits(twin.mean, emu.mean)) << "save_mean";
      EXPECT_TRUE(same_bits(twin.invstd, emu.invstd)) << "save_invstd";
      EXPECT_TRUE(same_bits(twin.running_mean, emu.running_mean)) << "running_mean";
      EXPECT_TRUE(same_bits(twin.running_var, emu.running_var)) << "running_var";
      sq::gpu_emu::batchnorm_backward_sums(emu.backward_sums.data(), emu.dgamma.data(), emu.dbeta.data(),
                                           partials.data(), in.dy.data(), in.x.data(), twin.mean.data(),
                                           twin.invstd.data(), s.n, s.c, s.hw, s.slices, nullptr);
      EXPECT_LT(relative_error(as_floats(twin.backward_sums), as_floats(emu.backward_sums)), kTolerance)
          << "sum dy, sum dy * xhat";
      EXPECT_LT(relative_error(twin.dgamma, emu.dgamma), kTolerance) << "dgamma";
      EXPECT_LT(relative_error(twin.dbeta, emu.dbeta), kTolerance) << "dbeta";
      EXPECT_TRUE(same_bits(as_floats(emu.backward_sums),
                            [&] {
                              std::vector<float> v(emu.dbeta);
                              v.insert(v.end(), emu.dgamma.begin(), emu.dgamma.end());
                              return v;
                            }()))
          << "dbeta, dgamma are the sums in float";
      sq::gpu_emu::batchnorm_backward_from_sums(emu.dx.data(), twin.backward_sums.data(), in.dy.data(), in.x.data(),
                                                twin.mean.data(), twin.invstd.data(), in.gamma.data(), s.n, s.c, s.hw,
                                                count, nullptr);
      EXPECT_TRUE(same_bits(twin.dx, emu.dx)) << "dx";
      Bytes b = emu.bytes();
      append(b, sums_x);
      append(b, centered);
      return b;
    });
  }
}

TEST(EmuBatchNormSync, AWorldOfOneEqualsTheFusedKernels) {
  for (const Shape& s : kShapes) {
    const Inputs in = inputs(s, suite_seed() + 7 + static_cast<std::uint64_t>(s.n * 131 + s.c));
    const auto total = in.x.size(), c = static_cast<std::size_t>(s.c);
    in_every_schedule("sync batchnorm, one rank, " + s.str(), [&] {
      RankOutputs fused = fresh(total, c);
      auto partials = poisoned<float>(static_cast<std::size_t>(sq::gpu_emu::batchnorm_partials_size(s.c, s.slices)));
      sq::gpu_emu::batchnorm_forward_train(fused.y.data(), fused.mean.data(), fused.invstd.data(),
                                           fused.running_mean.data(), fused.running_var.data(), partials.data(),
                                           in.x.data(), in.gamma.data(), in.beta.data(), s.n, s.c, s.hw, s.slices,
                                           kMomentum, kEps, nullptr);
      const RankOutputs split = run_ranks(s, 1, in)[0];
      // Forward: the fused kernels take shifted one-pass sums (one read of x for both), the phases the two-pass sums
      // the ranks can all-reduce; both are float partials of the same double statistics, held to the GPU tolerance.
      EXPECT_LT(relative_error(fused.y, split.y), kTolerance) << "y";
      EXPECT_LT(relative_error(fused.mean, split.mean), kTolerance) << "save_mean";
      EXPECT_LT(relative_error(fused.invstd, split.invstd), kTolerance) << "save_invstd";
      EXPECT_LT(relative_error(fused.running_mean, split.running_mean), kTolerance) << "running_mean";
      EXPECT_LT(relative_error(fused.running_var, split.running_var), kTolerance) << "running_var";
      // Backward: the same partials and slice order; from the same saved statistics the same bits.
      sq::gpu_emu::batchnorm_backward(fused.dx.data(), fused.dgamma.data(), fused.dbeta.data(), partials.data(),
                                      in.dy.data(), in.x.data(), split.mean.data(), split.invstd.data(),
                                      in.gamma.data(), s.n, s.c, s.hw, s.slices, nullptr);
      EXPECT_TRUE(same_bits(fused.dx, split.dx)) << "dx";
      EXPECT_TRUE(same_bits(fused.dgamma, split.dgamma)) << "dgamma";
      EXPECT_TRUE(same_bits(fused.dbeta, split.dbeta)) << "dbeta";
      Bytes b = fused.bytes();
      const Bytes sb = split.bytes();
      b.insert(b.end(), sb.begin(), sb.end());
      return b;
    });
  }
}

TEST(EmuBatchNormSync, TwoRanksComputeTheWholeBatchsStatistics) {
  const Shape shapes[] = {{6, 5, 33, 2}, {4, 3, 5, 1}, {8, 16, 16, 3}};
  for (const Shape& s : shapes) {
    const Inputs in = inputs(s, suite_seed() + 11 + static_cast<std::uint64_t>(s.n * 131 + s.c));
    const auto total = in.x.size(), c = static_cast<std::size_t>(s.c), half = total / 2;
    RankOutputs whole = fresh(total, c);
    std::vector<float> unused;
    sq::cpu::batchnorm_forward_train(whole.y.data(), whole.mean.data(), whole.invstd.data(), whole.running_mean.data(),
                                     whole.running_var.data(), unused.data(), in.x.data(), in.gamma.data(),
                                     in.beta.data(), s.n, s.c, s.hw, s.slices, kMomentum, kEps);
    sq::cpu::batchnorm_backward(whole.dx.data(), whole.dgamma.data(), whole.dbeta.data(), unused.data(), in.dy.data(),
                                in.x.data(), whole.mean.data(), whole.invstd.data(), in.gamma.data(), s.n, s.c, s.hw,
                                s.slices);
    in_every_schedule("sync batchnorm, two ranks, " + s.str(), [&] {
      const std::vector<RankOutputs> ranks = run_ranks(s, 2, in);
      Bytes b;
      std::vector<float> dgamma(c, 0.f), dbeta(c, 0.f);
      for (std::size_t r = 0; r < 2; ++r) {
        const RankOutputs& o = ranks[r];
        SCOPED_TRACE("rank " + std::to_string(r));
        const auto part = [&](const std::vector<float>& v) {
          return std::vector<float>(v.begin() + static_cast<std::ptrdiff_t>(r * half),
                                    v.begin() + static_cast<std::ptrdiff_t>((r + 1) * half));
        };
        EXPECT_LT(relative_error(part(whole.y), o.y), kTolerance) << "y";
        EXPECT_LT(relative_error(whole.mean, o.mean), kTolerance) << "save_mean";
        EXPECT_LT(relative_error(whole.invstd, o.invstd), kTolerance) << "save_invstd";
        EXPECT_LT(relative_error(whole.running_mean, o.running_mean), kTolerance) << "running_mean";
        EXPECT_LT(relative_error(whole.running_var, o.running_var), kTolerance) << "running_var";
        EXPECT_LT(relative_error(part(whole.dx), o.dx), kTolerance) << "dx";
        for (std::size_t ch = 0; ch < c; ++ch) {
          dgamma[ch] += o.dgamma[ch];
          dbeta[ch] += o.dbeta[ch];
        }
        const Bytes ob = o.bytes();
        b.insert(b.end(), ob.begin(), ob.end());
      }
      EXPECT_TRUE(same_bits(ranks[0].mean, ranks[1].mean)) << "every rank holds the same statistics";
      EXPECT_TRUE(same_bits(ranks[0].running_var, ranks[1].running_var));
      // Each rank's dgamma / dbeta are its own sums: the gradient all-reduce adds them (then divides by N).
      EXPECT_LT(relative_error(whole.dgamma, dgamma), kTolerance) << "dgamma summed over ranks";
      EXPECT_LT(relative_error(whole.dbeta, dbeta), kTolerance) << "dbeta summed over ranks";
      return b;
    });
  }
}

TEST(EmuBatchNormSync, TheTwinsInAWorldOfOneEqualTheFusedTwinsBitForBit) {
  // Why the CPU ranks' synchronised BN at N = 1 is the plain twin: the phases share its sums and formulas.
  for (const Shape& s : kShapes) {
    const Inputs in = inputs(s, suite_seed() + 13 + static_cast<std::uint64_t>(s.n * 131 + s.c));
    const auto total = in.x.size(), c = static_cast<std::size_t>(s.c);
    const std::int64_t count = s.n * s.hw;
    std::vector<float> unused;
    RankOutputs fused = fresh(total, c), split = fresh(total, c);
    sq::cpu::batchnorm_forward_train(fused.y.data(), fused.mean.data(), fused.invstd.data(), fused.running_mean.data(),
                                     fused.running_var.data(), unused.data(), in.x.data(), in.gamma.data(),
                                     in.beta.data(), s.n, s.c, s.hw, s.slices, kMomentum, kEps);
    sq::cpu::batchnorm_backward(fused.dx.data(), fused.dgamma.data(), fused.dbeta.data(), unused.data(), in.dy.data(),
                                in.x.data(), fused.mean.data(), fused.invstd.data(), in.gamma.data(), s.n, s.c, s.hw,
                                s.slices);
    double* fs = split.forward_sums.data();
    sq::cpu::batchnorm_sums_x(fs, unused.data(), in.x.data(), s.n, s.c, s.hw, s.slices);
    sq::cpu::batchnorm_sums_centered(fs + s.c, unused.data(), fs, in.x.data(), s.n, s.c, s.hw, count, s.slices);
    sq::cpu::batchnorm_forward_from_sums(split.y.data(), split.mean.data(), split.invstd.data(),
                                         split.running_mean.data(), split.running_var.data(), fs, in.x.data(),
                                         in.gamma.data(), in.beta.data(), s.n, s.c, s.hw, count, kMomentum, kEps);
    sq::cpu::batchnorm_backward_sums(split.backward_sums.data(), split.dgamma.data(), split.dbeta.data(), unused.data(),
                                     in.dy.data(), in.x.data(), split.mean.data(), split.invstd.data(), s.n, s.c, s.hw,
                                     s.slices);
    sq::cpu::batchnorm_backward_from_sums(split.dx.data(), split.backward_sums.data(), in.dy.data(), in.x.data(),
                                          split.mean.data(), split.invstd.data(), in.gamma.data(), s.n, s.c, s.hw,
                                          count);
    SCOPED_TRACE(s.str());
    EXPECT_TRUE(same_bits(fused.y, split.y)) << "y";
    EXPECT_TRUE(same_bits(fused.mean, split.mean)) << "save_mean";
    EXPECT_TRUE(same_bits(fused.invstd, split.invstd)) << "save_invstd";
    EXPECT_TRUE(same_bits(fused.running_mean, split.running_mean)) << "running_mean";
    EXPECT_TRUE(same_bits(fused.running_var, split.running_var)) << "running_var";
    EXPECT_TRUE(same_bits(fused.dx, split.dx)) << "dx";
    EXPECT_TRUE(same_bits(fused.dgamma, split.dgamma)) << "dgamma";
    EXPECT_TRUE(same_bits(fused.dbeta, split.dbeta)) << "dbeta";
  }
}

}  // namespace
