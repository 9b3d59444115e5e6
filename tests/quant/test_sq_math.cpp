// The shared SQ math: own exp/log against libm, rounding, key order, N_q, option names, canonical sums.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sq/core/error.hpp"
#include "sq/detail/sq_math.hpp"
#include "sq/detail/sq_reduce.hpp"
#include "sq/quant/options.hpp"

namespace {

using namespace sq::detail;
namespace quant = sq::quant;

double ulp_distance(double a, double b) {
  return std::fabs(a - b) / std::fabs(std::nextafter(b, 0.0) - b);
}

TEST(SqMath, LogMatchesLibmWithinAFewUlp) {
  for (std::uint64_t i = 0; i < 20000; ++i) {
    const double u = static_cast<double>(sq::philox_uniform_at(3, 1, i));
    EXPECT_LE(ulp_distance(log_d(u), std::log(u)), 4.0) << u;
  }
  for (double x : {1.0, 2.0, 0.5, 1e-300, 1e300, 4.9e-324, 1.4142135623730951, 0.7071067811865476}) {
    if (x == 1.0) {
      EXPECT_EQ(log_d(x), 0.0);
    } else {
      EXPECT_LE(ulp_distance(log_d(x), std::log(x)), 4.0) << x;
    }
  }
  EXPECT_EQ(log_d(0.0), -std::numeric_limits<double>::infinity());
}

TEST(SqMath, ExpMatchesLibmWithinAFewUlp) {
  for (int i = -7000; i <= 7000; ++i) {
    const double x = i * 0.1013;
    EXPECT_LE(ulp_distance(exp_d(x), std::exp(x)), 4.0) << x;
  }
  EXPECT_EQ(exp_d(0.0), 1.0);
  EXPECT_EQ(exp_d(-1e7), 0.0);
  EXPECT_TRUE(std::isinf(exp_d(1000.0)));
  EXPECT_GT(exp_d(-740.0), 0.0);  // subnormal range still rounds sensibly
  EXPECT_NEAR(exp_d(-740.0) / std::exp(-740.0), 1.0, 1e-6);
}

TEST(SqMath, RoundHalfAwayFromZero) {
  EXPECT_EQ(round_half_away(0.5), 1.0);
  EXPECT_EQ(round_half_away(-0.5), -1.0);
  EXPECT_EQ(round_half_away(1.4999999), 1.0);
  EXPECT_EQ(round_half_away(-2.5), -3.0);
  EXPECT_EQ(round_half_away(0.0), 0.0);
}

TEST(SqMath, SortableKeyPreservesOrder) {
  const double values[] = {-std::numeric_limits<double>::infinity(), -1e300, -3.5, -1e-300, -0.0, 0.0, 1e-300, 2.0};
  for (std::size_t i = 0; i + 1 < std::size(values); ++i) {
    EXPECT_LE(sortable_key(values[i]), sortable_key(values[i + 1])) << values[i];
    if (values[i] != values[i + 1]) {
      EXPECT_LT(sortable_key(values[i]), sortable_key(values[i + 1]));
    }
  }
  EXPECT_EQ(topk_key(0.5f, 0.0), -std::numeric_limits<double>::infinity());
  EXPECT_LT(topk_key(0.5f, 0.1), topk_key(0.5f, 0.9));  // higher p, key nearer 0
}

TEST(SqMath, SubsequencesDoNotCollide) {
  EXPECT_NE(sq_subsequence(1, 0), sq_subsequence(0, 1));
  EXPECT_NE(sq_subsequence(0, 65535), sq_subsequence(1, 0));
  EXPECT_NE(sq_frozen_subsequence(0, 0), sq_subsequence(0, 0));
  EXPECT_NE(sq_frozen_subsequence(0, 3), sq_subsequence(kSqStepLimit - 1, 3));
  EXPECT_EQ(sq_subsequence(5, 2), (5ull << 16) | 2u);
}

TEST(SqMath, QuantizedCountFollowsTheAuthors) {
  EXPECT_EQ(quant::quantized_count(0.875, 10), 9);
  EXPECT_EQ(quant::quantized_count(1.0, 10), 10);
  EXPECT_EQ(quant::quantized_count(0.0, 10), 0);
  EXPECT_EQ(quant::quantized_count(0.5, 7), 4);  // N_fp = floor(3.5) = 3
  EXPECT_EQ(quant::quantized_count(0.75, 64), 48);
  EXPECT_EQ(quant::quantized_count(0.875, 1), 1);  // N_fp = floor(0.125) = 0
  EXPECT_EQ(quant::quantized_count(0.9, 10), 9);   // (1 - 0.9) * 10 = 0.9999999999999998: the 1e-9 guard gives N_fp 1
  EXPECT_THROW(quant::quantized_count(1.5, 10), sq::Error);
}

TEST(SqMath, OptionNamesRoundTrip) {
  for (auto q : {quant::Quantizer::bwn, quant::Quantizer::twn, quant::Quantizer::twn_caffe,
                 quant::Quantizer::twn_channel, quant::Quantizer::kbit}) {
    EXPECT_EQ(quant::parse_quantizer(quant::to_string(q)), q);
  }
  EXPECT_EQ(quant::to_string(quant::Quantizer::twn_caffe), "twn-caffe");
  for (auto s : {quant::Sampler::topk, quant::Sampler::roulette, quant::Sampler::sorted, quant::Sampler::frozen,
                 quant::Sampler::caffe}) {
    EXPECT_EQ(quant::parse_sampler(quant::to_string(s)), s);
  }
  for (auto p : {quant::ProbabilityFn::constant, quant::ProbabilityFn::linear, quant::ProbabilityFn::softmax,
                 quant::ProbabilityFn::sigmoid}) {
    EXPECT_EQ(quant::parse_probability(quant::to_string(p)), p);
  }
  EXPECT_EQ(quant::parse_granularity("element"), quant::Granularity::element);
  try {
    quant::parse_sampler("wheel");
    FAIL() << "no error";
  } catch (const sq::Error& e) {
    EXPECT_NE(e.message().find("roulette"), std::string::npos) << e.message();
  }
  quant::SqOptions bad;
  bad.quantizer = quant::Quantizer::kbit;
  bad.bits = 9;
  EXPECT_THROW(quant::validate(bad), sq::Error);
}

TEST(SqMath, CanonicalSumIsLaneStridedThenPairwise) {
  // 300 values: lane l holds x_l (+ x_{l+256} for l < 44); folding pairs lanes l and l + 128 first.
  std::vector<double> x(300);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 1.0 / static_cast<double>(i + 1);
  double lanes[256] = {};
  for (std::size_t i = 0; i < x.size(); ++i) lanes[i % 256] += x[i];
  for (int s = 128; s > 0; s /= 2)
    for (int l = 0; l < s; ++l) lanes[l] += lanes[l + s];
  EXPECT_EQ(canonical_sum(300, [&](std::int64_t i) { return x[static_cast<std::size_t>(i)]; }), lanes[0]);
  EXPECT_EQ(canonical_sum(0, [&](std::int64_t) { return 1.0; }), 0.0);
}

}  // namespace

namespace {

TEST(SqMath, ChunkedLanesFoldExactlyLikeTheCanonicalSum) {
  // The vectorised host loops (CanonicalLanes) must give the very double the 256-thread kernels give, which is
  // canonical_sum's: for short rows (pruned fold), ragged tails and signed values that cancel.
  for (std::int64_t n : {0, 1, 2, 7, 144, 255, 256, 257, 576, 1000, 4096}) {
    std::vector<double> x(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      const double u = sq::philox_uniform_at(9, 3, static_cast<std::uint64_t>(i));
      x[static_cast<std::size_t>(i)] = (u - 0.5) * std::ldexp(1.0, static_cast<int>(i % 40) - 20);
    }
    sq::detail::CanonicalLanes lanes(n);
    for (std::int64_t base = 0; base < n; base += sq::detail::kSqLanes) {
      for (std::int64_t l = 0; l < sq::detail::kSqLanes && base + l < n; ++l) {
        lanes.lane[l] += x[static_cast<std::size_t>(base + l)];
      }
    }
    const double want = sq::detail::canonical_sum(n, [&](std::int64_t i) { return x[static_cast<std::size_t>(i)]; });
    EXPECT_EQ(lanes.fold(), want) << "n = " << n;
  }
}

}  // namespace
