// The CPU SQ step on two threads (layers split between the caller and a helper thread) gives the very results of
// the one-thread step, for every quantizer and sampler, and reports NaN/Inf weights the same way.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "quant/sq_worker.hpp"
#include "sq/core/error.hpp"
#include "sq/quant/pipeline.hpp"
#include "sq_reference.hpp"

namespace {

namespace quant = sq::quant;

// Ragged layers (rows under and over 256 lanes), about 2^18 weights: above the two-thread threshold.
std::vector<quant::SqSegment> ragged_layers(std::int64_t& size) {
  std::vector<quant::SqSegment> segments;
  size = 0;
  const std::int64_t shapes[][2] = {{16, 27}, {64, 577}, {10, 3}, {128, 1152}, {33, 256}, {7, 4099}, {64, 9}};
  for (const auto& s : shapes) {
    segments.push_back({size, s[0], s[1]});
    size += s[0] * s[1] + 5;  // gaps between layers
  }
  return segments;
}

struct Result {
  std::vector<float> hybrid;
  std::vector<std::uint8_t> mask;
  std::vector<double> errors;
  std::vector<quant::SqLayerStats> stats;
};

Result run(const std::vector<quant::SqSegment>& segments, const quant::SqOptions& o, const std::vector<float>& w,
           bool threads) {
  quant::allow_helper_thread(threads);
  quant::SqPipeline p(segments, o, sq::Device::cpu());
  Result r{std::vector<float>(w.size(), -1.0f), {}, {}, {}};
  for (std::uint64_t step : {0, 1, 7}) p.run(w.data(), r.hybrid.data(), step, nullptr);
  r.mask = p.mask_to_host(nullptr);
  r.errors = p.errors_to_host(nullptr);
  r.stats = p.stats(nullptr);
  quant::allow_helper_thread(true);
  return r;
}

TEST(SqThreads, TwoThreadStepsEqualOneThreadStepsBitForBit) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one CPU: the step never uses a second thread";
  std::int64_t size = 0;
  const auto segments = ragged_layers(size);
  ASSERT_GE(size, std::int64_t{1} << 17) << "the layers must be large enough for the two-thread path";
  const std::vector<float> w = sq::test::random_weights(size, 31);
  for (quant::Quantizer qz : {quant::Quantizer::bwn, quant::Quantizer::twn, quant::Quantizer::twn_caffe,
                              quant::Quantizer::twn_channel, quant::Quantizer::kbit}) {
    for (quant::Sampler sampler : {quant::Sampler::topk, quant::Sampler::roulette, quant::Sampler::caffe}) {
      quant::SqOptions o;
      o.quantizer = qz;
      o.sampler = sampler;
      o.ratio = 0.5;
      o.seed = 3;
      o.bits = 3;
      const auto runs_before = quant::helper_thread_runs();
      const Result two = run(segments, o, w, true);
      EXPECT_GT(quant::helper_thread_runs(), runs_before) << "the helper thread did not run";
      const Result one = run(segments, o, w, false);
      const std::string what = quant::to_string(qz) + " / " + quant::to_string(sampler);
      EXPECT_EQ(two.mask, one.mask) << what;
      EXPECT_EQ(two.errors, one.errors) << what;
      ASSERT_EQ(two.hybrid.size(), one.hybrid.size());
      for (std::size_t i = 0; i < w.size(); ++i) ASSERT_EQ(two.hybrid[i], one.hybrid[i]) << what << " at " << i;
      ASSERT_EQ(two.stats.size(), one.stats.size());
      for (std::size_t l = 0; l < one.stats.size(); ++l) {
        EXPECT_EQ(two.stats[l].quantized, one.stats[l].quantized);
        EXPECT_EQ(two.stats[l].mean_error, one.stats[l].mean_error);
        EXPECT_EQ(two.stats[l].mean_error_quantized, one.stats[l].mean_error_quantized);
      }
    }
  }
}

TEST(SqThreads, NanInEitherHalfNamesTheFirstBadLayer) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one CPU: the step never uses a second thread";
  std::int64_t size = 0;
  const auto segments = ragged_layers(size);
  std::vector<float> w = sq::test::random_weights(size, 5);
  quant::SqPipeline p(segments, quant::SqOptions{}, sq::Device::cpu());
  std::vector<float> hybrid(w.size());
  // A NaN in the last layer (the helper's half), then one in layer 1 as well (the caller's): the lower wins.
  w[static_cast<std::size_t>(segments[6].offset + 3)] = std::numeric_limits<float>::quiet_NaN();
  try {
    p.run(w.data(), hybrid.data(), 0, nullptr);
    FAIL() << "no error for a NaN weight";
  } catch (const sq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 6"), std::string::npos) << e.what();
  }
  w[static_cast<std::size_t>(segments[1].offset + 600)] = std::numeric_limits<float>::infinity();
  try {
    p.run(w.data(), hybrid.data(), 1, nullptr);
    FAIL() << "no error for an Inf weight";
  } catch (const sq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 1"), std::string::npos) << e.what();
  }
}

}  // namespace
