// Properties of the SQ pipeline on the CPU: N_q exact, r = 0 and r = 1, zero rows, empty TWN rows, m = 1, huge and
// tiny magnitudes, NaN/Inf errors, buffer gaps, statistics, element granularity, frozen / sorted behaviour.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "cpu/sq_quantize.hpp"
#include "sq/core/error.hpp"
#include "sq/quant/pipeline.hpp"
#include "sq/quant/sq_api.hpp"
#include "sq_reference.hpp"

namespace {

namespace quant = sq::quant;
using quant::Quantizer;
using quant::Sampler;

const std::vector<quant::SqSegment> kSegments = {{0, 10, 27}, {300, 1, 5}, {310, 64, 9}, {1000, 37, 50}};
constexpr std::int64_t kBufferSize = 1000 + 37 * 50 + 11;  // gaps between and after the segments

quant::SqOptions options_with(Quantizer q, Sampler s, double ratio, std::uint64_t seed = 5) {
  quant::SqOptions o;
  o.quantizer = q;
  o.sampler = s;
  o.ratio = ratio;
  o.seed = seed;
  return o;
}

struct Step {
  std::vector<float> hybrid;
  std::vector<std::uint8_t> mask;
  std::vector<quant::SqLayerStats> stats;
};

Step run(quant::SqPipeline& p, const std::vector<float>& w, std::uint64_t step) {
  Step s{std::vector<float>(w.size(), std::numeric_limits<float>::quiet_NaN()), {}, {}};
  p.run(w.data(), s.hybrid.data(), step, nullptr);
  s.mask = p.mask_to_host(nullptr);
  s.stats = p.stats(nullptr);
  return s;
}

std::vector<float> quantize_all(quant::SqPipeline& p, const std::vector<float>& w) {
  std::vector<float> q(w.size(), std::numeric_limits<float>::quiet_NaN());
  p.quantize_all(w.data(), q.data(), nullptr);
  return q;
}

const Sampler kAllSamplers[] = {Sampler::topk, Sampler::roulette, Sampler::sorted, Sampler::frozen, Sampler::caffe};

TEST(SqProperties, QuantizesExactlyNqUnitsPerLayerForEverySampler) {
  const std::vector<float> w = sq::test::random_weights(kBufferSize, 1);
  for (Sampler s : kAllSamplers) {
    for (double r : {0.0, 0.25, 0.5, 0.875, 0.999, 1.0}) {
      quant::SqPipeline p(kSegments, options_with(Quantizer::twn, s, r), sq::Device::cpu());
      for (std::uint64_t step : {0ull, 1ull, 99ull}) {
        const Step out = run(p, w, step);
        std::size_t unit = 0;
        for (std::size_t l = 0; l < kSegments.size(); ++l) {
          const std::int64_t m = kSegments[l].rows;
          const std::int64_t want = quant::quantized_count(r, m);
          const auto begin = out.mask.begin() + static_cast<std::ptrdiff_t>(unit);
          EXPECT_EQ(std::count(begin, begin + m, 1), want) << quant::to_string(s) << " r " << r << " layer " << l;
          EXPECT_EQ(out.stats[l].quantized, want);
          EXPECT_EQ(out.stats[l].units, m);
          unit += static_cast<std::size_t>(m);
        }
      }
    }
  }
}

TEST(SqProperties, HybridTakesQuantizedRowsWhereTheMaskSaysAndLeavesGapsAlone) {
  const std::vector<float> w = sq::test::random_weights(kBufferSize, 2);
  quant::SqPipeline p(kSegments, options_with(Quantizer::twn, Sampler::topk, 0.5), sq::Device::cpu());
  const std::vector<float> q = quantize_all(p, w);
  const Step out = run(p, w, 3);
  std::vector<bool> covered(w.size(), false);
  std::size_t unit = 0;
  for (const auto& s : kSegments) {
    for (std::int64_t r = 0; r < s.rows; ++r, ++unit) {
      for (std::int64_t j = 0; j < s.cols; ++j) {
        const auto i = static_cast<std::size_t>(s.offset + r * s.cols + j);
        covered[i] = true;
        EXPECT_EQ(out.hybrid[i], out.mask[unit] ? q[i] : w[i]);
      }
    }
  }
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!covered[i]) {
      EXPECT_TRUE(std::isnan(out.hybrid[i])) << "gap element " << i << " was written";
    }
  }
}

TEST(SqProperties, RatioZeroChangesNothingAndRatioOneIsThePlainQuantizer) {
  const std::vector<float> w = sq::test::random_weights(kBufferSize, 3);
  for (Quantizer qz : {Quantizer::bwn, Quantizer::twn, Quantizer::kbit}) {
    quant::SqPipeline zero(kSegments, options_with(qz, Sampler::topk, 0.0), sq::Device::cpu());
    quant::SqPipeline one(kSegments, options_with(qz, Sampler::topk, 1.0), sq::Device::cpu());
    const Step a = run(zero, w, 7), b = run(one, w, 7);
    const std::vector<float> q = quantize_all(one, w);
    for (const auto& s : kSegments) {
      for (std::int64_t i = s.offset; i < s.offset + s.rows * s.cols; ++i) {
        const auto k = static_cast<std::size_t>(i);
        ASSERT_EQ(a.hybrid[k], w[k]);
        ASSERT_EQ(b.hybrid[k], q[k]);
      }
    }
    EXPECT_EQ(std::count(a.mask.begin(), a.mask.end(), 1), 0);
    EXPECT_EQ(std::count(b.mask.begin(), b.mask.end(), 0), 0);
  }
}

TEST(SqProperties, ZeroRowsEmptyTwnRowsAndSingleRowLayers) {
  // Row 0 all zeros; row 1 tiny next to row 2 (nothing above the layer's TWN threshold); layer 2 has m = 1.
  std::vector<float> w(3 * 4 + 6, 0.0f);
  for (int j = 0; j < 4; ++j) w[4 + j] = 1e-3f * (j % 2 ? 1.f : -1.f);
  for (int j = 0; j < 4; ++j) w[8 + j] = 1.0f + j;
  for (int j = 0; j < 6; ++j) w[12 + j] = 0.5f - 0.2f * j;
  const std::vector<quant::SqSegment> segments = {{0, 3, 4}, {12, 1, 6}};
  for (Quantizer qz : {Quantizer::bwn, Quantizer::twn, Quantizer::twn_caffe, Quantizer::twn_channel, Quantizer::kbit}) {
    for (Sampler s : kAllSamplers) {
      quant::SqPipeline p(segments, options_with(qz, s, 0.5), sq::Device::cpu());
      const Step out = run(p, w, 1);
      const std::vector<double> e = p.errors_to_host(nullptr);
      const std::vector<float> q = quantize_all(p, w);
      EXPECT_EQ(e[0], 0.0) << "zero row: e = 0 by definition";
      for (int j = 0; j < 4; ++j) EXPECT_EQ(q[j], 0.0f);
      if (qz == Quantizer::twn) {
        EXPECT_EQ(e[1], 1.0) << "no weight above D: a = 0, Q = 0, e = 1";
        for (int j = 4; j < 8; ++j) EXPECT_EQ(q[j], 0.0f);
      }
      EXPECT_EQ(out.stats[1].quantized, 1) << "m = 1, r = 0.5: N_fp = floor(0.5) = 0";
      for (double v : e) EXPECT_TRUE(std::isfinite(v));
      for (float v : out.hybrid) EXPECT_TRUE(std::isfinite(v));
    }
  }
}

TEST(SqProperties, HugeAndTinyMagnitudesScaleExactly) {
  // Scaling by a power of two scales Q exactly and leaves e (so p and the selection) unchanged.
  const std::vector<float> w = sq::test::random_weights(kBufferSize, 4);
  for (float factor : {std::ldexp(1.0f, 100), std::ldexp(1.0f, -100), std::ldexp(1.0f, -130)}) {
    std::vector<float> scaled(w);
    for (float& v : scaled) v *= factor;
    for (Quantizer qz : {Quantizer::bwn, Quantizer::twn, Quantizer::kbit}) {
      quant::SqPipeline a(kSegments, options_with(qz, Sampler::topk, 0.5), sq::Device::cpu());
      quant::SqPipeline b(kSegments, options_with(qz, Sampler::topk, 0.5), sq::Device::cpu());
      const Step ra = run(a, w, 9), rb = run(b, scaled, 9);
      if (factor >= std::ldexp(1.0f, -100)) {  // normal floats: exact
        EXPECT_EQ(ra.mask, rb.mask) << "factor " << factor;
        EXPECT_EQ(a.errors_to_host(nullptr), b.errors_to_host(nullptr));
        for (std::size_t i = 0; i < w.size(); ++i) {
          if (!std::isnan(ra.hybrid[i])) {
            ASSERT_EQ(ra.hybrid[i] * factor, rb.hybrid[i]) << i;
          }
        }
      } else {  // subnormal weights: results stay finite and N_q holds
        for (float v : rb.hybrid) EXPECT_FALSE(std::isinf(v));
        for (std::size_t l = 0; l < kSegments.size(); ++l) EXPECT_EQ(rb.stats[l].quantized, ra.stats[l].quantized);
      }
    }
  }
}

TEST(SqProperties, NanOrInfWeightsThrowNamingTheLayer) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    for (Quantizer qz : {Quantizer::bwn, Quantizer::twn, Quantizer::twn_caffe}) {
      std::vector<float> w = sq::test::random_weights(kBufferSize, 5);
      w[310 + 9 * 3 + 2] = bad;  // layer 2, row 3
      quant::SqPipeline p(kSegments, options_with(qz, Sampler::topk, 0.5), sq::Device::cpu());
      std::vector<float> h(w.size());
      try {
        p.run(w.data(), h.data(), 0, nullptr);
        FAIL() << "no error for " << bad;
      } catch (const sq::Error& e) {
        EXPECT_NE(e.message().find("layer 2"), std::string::npos) << e.message();
        EXPECT_NE(e.message().find("row 3"), std::string::npos) << e.message();
      }
      w[310 + 9 * 3 + 2] = 0.5f;
      EXPECT_NO_THROW(p.run(w.data(), h.data(), 0, nullptr)) << "the error must not stick after the weights heal";
      w[5] = bad;
      EXPECT_THROW(quant::stochastic_quantize(h.data(), nullptr, nullptr, w.data(), kSegments.data(), 4,
                                              options_with(qz, Sampler::topk, 0.5), 0, sq::Device::cpu()),
                   sq::Error);
    }
  }
}

TEST(SqProperties, StatisticsAreTheMeansOfTheErrors) {
  const std::vector<float> w = sq::test::random_weights(kBufferSize, 6);
  quant::SqPipeline p(kSegments, options_with(Quantizer::bwn, Sampler::topk, 0.6), sq::Device::cpu());
  const Step out = run(p, w, 2);
  const std::vector<double> e = p.errors_to_host(nullptr);
  std::size_t unit = 0;
  for (std::size_t l = 0; l < kSegments.size(); ++l) {
    double all = 0, q = 0, fp = 0;
    std::int64_t nq = 0;
    for (std::int64_t i = 0; i < kSegments[l].rows; ++i, ++unit) {
      all += e[unit];
      (out.mask[unit] ? q : fp) += e[unit];
      nq += out.mask[unit];
    }
    const std::int64_t m = kSegments[l].rows;
    EXPECT_NEAR(out.stats[l].mean_error, all / m, 1e-14);
    EXPECT_NEAR(out.stats[l].mean_error_quantized, nq ? q / nq : 0.0, 1e-14);
    EXPECT_NEAR(out.stats[l].mean_error_fp, m - nq ? fp / (m - nq) : 0.0, 1e-14);
  }
}

TEST(SqProperties, ElementGranularitySelectsWeights) {
  const std::vector<float> w = sq::test::random_weights(kBufferSize, 7);
  quant::SqOptions o = options_with(Quantizer::twn, Sampler::topk, 0.7);
  o.granularity = quant::Granularity::element;
  quant::SqPipeline p(kSegments, o, sq::Device::cpu());
  const std::vector<float> q = quantize_all(p, w);
  const Step out = run(p, w, 4);
  ASSERT_EQ(out.mask.size(), static_cast<std::size_t>(10 * 27 + 5 + 64 * 9 + 37 * 50));
  std::size_t unit = 0;
  for (std::size_t l = 0; l < kSegments.size(); ++l) {
    const std::int64_t units = kSegments[l].rows * kSegments[l].cols;
    EXPECT_EQ(out.stats[l].units, units);
    EXPECT_EQ(out.stats[l].quantized, quant::quantized_count(0.7, units));
    for (std::int64_t i = 0; i < units; ++i, ++unit) {
      const auto k = static_cast<std::size_t>(kSegments[l].offset + i);
      ASSERT_EQ(out.hybrid[k], out.mask[unit] ? q[k] : w[k]);
    }
  }
  const std::vector<std::uint8_t> row_mask(out.mask.begin(), out.mask.begin() + 27);
  EXPECT_NE(std::count(row_mask.begin(), row_mask.end(), 1), 0);
  EXPECT_NE(std::count(row_mask.begin(), row_mask.end(), 0), 0) << "a row is split between Q and W";
}

TEST(SqProperties, DrawsDependOnSeedAndStepOnly) {
  const std::vector<float> w = sq::test::random_weights(kBufferSize, 8);
  for (Sampler s : {Sampler::topk, Sampler::roulette, Sampler::caffe}) {
    quant::SqPipeline a(kSegments, options_with(Quantizer::twn, s, 0.5, 1), sq::Device::cpu());
    quant::SqPipeline b(kSegments, options_with(Quantizer::twn, s, 0.5, 1), sq::Device::cpu());
    quant::SqPipeline c(kSegments, options_with(Quantizer::twn, s, 0.5, 2), sq::Device::cpu());
    EXPECT_EQ(run(a, w, 10).mask, run(b, w, 10).mask);
    EXPECT_NE(run(a, w, 10).mask, run(a, w, 11).mask) << quant::to_string(s);
    EXPECT_NE(run(a, w, 10).mask, run(c, w, 10).mask) << quant::to_string(s);
    std::uint64_t device_step = 10;  // the graph path's step pointer; on the CPU a host pointer
    std::vector<float> h(w.size());
    b.run(w.data(), h.data(), 0, nullptr, &device_step);
    EXPECT_EQ(b.mask_to_host(nullptr), run(a, w, 10).mask);
  }
}

TEST(SqProperties, SortedIsDeterministicAndTakesTheSmallestErrors) {
  const std::vector<float> w = sq::test::random_weights(kBufferSize, 9);
  quant::SqPipeline p(kSegments, options_with(Quantizer::twn, Sampler::sorted, 0.5, 1), sq::Device::cpu());
  quant::SqPipeline other_seed(kSegments, options_with(Quantizer::twn, Sampler::sorted, 0.5, 77), sq::Device::cpu());
  const Step a = run(p, w, 1);
  EXPECT_EQ(a.mask, run(p, w, 2).mask);
  EXPECT_EQ(a.mask, run(other_seed, w, 3).mask);
  const std::vector<double> e = p.errors_to_host(nullptr);
  std::size_t unit = 0;
  for (const auto& s : kSegments) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(s.rows));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto x, auto y) { return e[unit + x] < e[unit + y]; });
    const std::int64_t nq = quant::quantized_count(0.5, s.rows);
    for (std::int64_t k = 0; k < s.rows; ++k) {
      EXPECT_EQ(a.mask[unit + static_cast<std::size_t>(order[static_cast<std::size_t>(k)])], k < nq ? 1 : 0);
    }
    unit += static_cast<std::size_t>(s.rows);
  }
  // Ties go to the lower index: four identical rows, two quantized -> rows 0 and 1.
  const std::vector<float> same(16, 0.25f);
  quant::SqPipeline tie({{0, 4, 4}}, options_with(Quantizer::bwn, Sampler::sorted, 0.5), sq::Device::cpu());
  EXPECT_EQ(run(tie, same, 0).mask, (std::vector<std::uint8_t>{1, 1, 0, 0}));
}

TEST(SqProperties, FrozenKeepsItsDrawUntilTheNextStage) {
  const std::vector<float> w = sq::test::random_weights(kBufferSize, 10);
  quant::SqPipeline p(kSegments, options_with(Quantizer::twn, Sampler::frozen, 0.5), sq::Device::cpu());
  const Step first = run(p, w, 0);
  const std::vector<float> w2 = sq::test::random_weights(kBufferSize, 11);  // errors change, the partition not
  EXPECT_EQ(run(p, w2, 1).mask, first.mask);
  EXPECT_EQ(run(p, w, 500).mask, first.mask);
  p.set_stage(1);
  const Step second = run(p, w, 501);
  EXPECT_NE(second.mask, first.mask);
  EXPECT_EQ(run(p, w, 502).mask, second.mask);
  // The draw is keyed by the stage, not the step: a fresh pipeline at stage 1 draws the same at any step.
  quant::SqPipeline q(kSegments, options_with(Quantizer::twn, Sampler::frozen, 0.5), sq::Device::cpu());
  q.set_stage(1);
  EXPECT_EQ(run(q, w, 12345).mask, second.mask);
  // A new ratio redraws with the new N_q.
  p.set_ratio(0.75);
  const Step third = run(p, w, 503);
  EXPECT_EQ(third.stats[0].quantized, quant::quantized_count(0.75, 10));
}

TEST(SqProperties, RejectsBadSegmentsAndSteps) {
  const quant::SqOptions o;
  EXPECT_THROW(quant::SqPipeline({{0, 0, 4}}, o, sq::Device::cpu()), sq::Error);
  EXPECT_THROW(quant::SqPipeline({{0, 4, 4}, {10, 2, 2}}, o, sq::Device::cpu()), sq::Error) << "overlap";
  quant::SqPipeline p({{0, 2, 2}}, o, sq::Device::cpu());
  std::vector<float> w(4, 1.f), h(4);
  EXPECT_THROW(p.run(w.data(), h.data(), 1ull << 47, nullptr), sq::Error);
  quant::SqPipeline empty({}, o, sq::Device::cpu());
  EXPECT_NO_THROW(empty.run(w.data(), h.data(), 0, nullptr));
  EXPECT_TRUE(empty.stats(nullptr).empty());
}

}  // namespace

namespace {

TEST(SqProperties, Avx2AndBaselineRowLoopsAgreeBitForBit) {
  sq::cpu::sq_quantize_allow_avx2(true);
  if (!sq::cpu::sq_quantize_uses_avx2()) GTEST_SKIP() << "this CPU (or compiler) has no AVX2 build of the loops";
  const std::vector<float> w = sq::test::random_weights(kBufferSize, 12);
  for (Quantizer qz : {Quantizer::bwn, Quantizer::twn, Quantizer::twn_caffe, Quantizer::twn_channel, Quantizer::kbit}) {
    for (quant::Granularity g : {quant::Granularity::channel, quant::Granularity::element}) {
      quant::SqOptions o = options_with(qz, Sampler::topk, 0.5);
      o.granularity = g;
      o.bits = 5;
      std::vector<Step> out;
      std::vector<std::vector<double>> errors;
      for (bool avx2 : {true, false}) {
        sq::cpu::sq_quantize_allow_avx2(avx2);
        quant::SqPipeline p(kSegments, o, sq::Device::cpu());
        out.push_back(run(p, w, 3));
        errors.push_back(p.errors_to_host(nullptr));
      }
      EXPECT_EQ(errors[0], errors[1]) << quant::to_string(qz);
      EXPECT_EQ(out[0].mask, out[1].mask);
      for (std::size_t i = 0; i < w.size(); ++i) {
        ASSERT_TRUE(out[0].hybrid[i] == out[1].hybrid[i] ||
                    (std::isnan(out[0].hybrid[i]) && std::isnan(out[1].hybrid[i])));
      }
    }
  }
  sq::cpu::sq_quantize_allow_avx2(true);
}

}  // namespace
