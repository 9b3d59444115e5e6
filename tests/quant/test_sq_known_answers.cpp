// Known answers: the worked example of SQ_SPEC section 9 for every quantizer and probability function, plus
// hand-computed values for twn-channel and k-bit, and a naive reference for random layers.
#include <gtest/gtest.h>

#include <vector>

#include "cpu/sq_select.hpp"
#include "sq/quant/pipeline.hpp"
#include "sq_reference.hpp"

namespace {

namespace quant = sq::quant;
using quant::ProbabilityFn;
using quant::Quantizer;

const std::vector<float> kW = {0.5f, -0.25f, 0.125f, -1.0f, 0.2f, 0.2f, -0.2f, 0.0f};

struct Quantized {
  std::vector<float> q;
  std::vector<double> e;
};

Quantized quantize(const std::vector<float>& w, std::vector<quant::SqSegment> segments, Quantizer quantizer,
                   int bits = 2) {
  quant::SqOptions options;
  options.quantizer = quantizer;
  options.bits = bits;
  quant::SqPipeline pipeline(std::move(segments), options, sq::Device::cpu());
  Quantized out{std::vector<float>(w.size(), -7.0f), {}};
  pipeline.quantize_all(w.data(), out.q.data(), nullptr);
  out.e = pipeline.errors_to_host(nullptr);
  return out;
}

std::vector<double> probabilities(const std::vector<double>& e, ProbabilityFn fn) {
  std::vector<double> p(e.size());
  sq::cpu::sq_probabilities(p.data(), e.data(), static_cast<std::int64_t>(e.size()),
                            static_cast<sq::detail::ProbKind>(static_cast<int>(fn)));
  return p;
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "index " << i;
}

TEST(SqKnownAnswers, BwnWorkedExample) {
  const Quantized r = quantize(kW, {{0, 2, 4}}, Quantizer::bwn);
  const std::vector<float> q = {.46875f, -.46875f, .46875f, -.46875f, .15f, .15f, -.15f, .15f};
  EXPECT_EQ(r.q, q);
  // The spec's figures are exact decimals; the weights here are floats (0.2f != 0.2), hence 1e-7 from the pipeline
  // and 1e-10 for p computed from the exact e.
  expect_near(r.e, {0.6, 0.5}, 1e-7);
  for (const std::vector<double>& e : {r.e, std::vector<double>{0.6, 0.5}}) {
    const double tol = e == r.e ? 1e-7 : 1e-10;
    expect_near(probabilities(e, ProbabilityFn::linear), {0.4545454628, 0.5454545372}, tol);
    expect_near(probabilities(e, ProbabilityFn::softmax), {0.4174298233, 0.5825701767}, tol);
    expect_near(probabilities(e, ProbabilityFn::sigmoid), {0.4884820444, 0.5115179556}, tol);
    expect_near(probabilities(e, ProbabilityFn::constant), {0.5, 0.5}, 0.0);
  }
}

TEST(SqKnownAnswers, TwnWorkedExample) {
  const Quantized r = quantize(kW, {{0, 2, 4}}, Quantizer::twn);
  const float a = static_cast<float>(1.75 / 3.0);
  EXPECT_NEAR(a, 0.5833333333, 1e-7);
  const std::vector<float> q = {a, -a, 0.f, -a, 0.f, 0.f, 0.f, 0.f};
  EXPECT_EQ(r.q, q);
  expect_near(r.e, {0.5111111111, 1.0}, 1e-7);  // a is a float: 1e-7 (see BwnWorkedExample)
  for (const std::vector<double>& e : {r.e, std::vector<double>{23.0 / 45.0, 1.0}}) {
    const double tol = e == r.e ? 1e-7 : 1e-10;
    expect_near(probabilities(e, ProbabilityFn::linear), {0.6617646845, 0.3382353155}, tol);
    expect_near(probabilities(e, ProbabilityFn::softmax), {0.7224248025, 0.2775751975}, tol);
    expect_near(probabilities(e, ProbabilityFn::sigmoid), {0.5451394094, 0.4548605906}, tol);
    expect_near(probabilities(e, ProbabilityFn::constant), {0.5, 0.5}, 0.0);
  }
}

TEST(SqKnownAnswers, TwnThresholdIsTheSpecsD) {
  // D = 0.2165625. Move weight 4 just above / below D while weight 2 keeps sum |W| (and so D) unchanged.
  std::vector<float> w = kW;
  w[4] = 0.2166f;
  w[2] = 0.1084f;
  EXPECT_NE(quantize(w, {{0, 2, 4}}, Quantizer::twn).q[4], 0.0f);
  w[4] = 0.2165f;
  w[2] = 0.1085f;
  EXPECT_EQ(quantize(w, {{0, 2, 4}}, Quantizer::twn).q[4], 0.0f);
}

TEST(SqKnownAnswers, TwnChannelAndCaffeThresholds) {
  // twn-channel: D_1 = 0.7 * 1.875 / 4 = 0.328125 keeps 0.5 and -1 (a = 0.75); D_2 = 0.105 keeps the three 0.2s.
  const Quantized channel = quantize(kW, {{0, 2, 4}}, Quantizer::twn_channel);
  EXPECT_EQ(channel.q, (std::vector<float>{.75f, 0.f, 0.f, -.75f, .2f, .2f, -.2f, 0.f}));
  expect_near(channel.e, {0.875 / 1.875, 0.0}, 1e-12);
  // twn-caffe: mean(W) = -0.053125, mean |W - mean| = 0.32265625, D = 0.225859375: 0.25 stays, 0.2 drops.
  const Quantized caffe = quantize(kW, {{0, 2, 4}}, Quantizer::twn_caffe);
  const float a = static_cast<float>(1.75 / 3.0);
  EXPECT_EQ(caffe.q, (std::vector<float>{a, -a, 0.f, -a, 0.f, 0.f, 0.f, 0.f}));
  // A weight between the two thresholds tells them apart: 0.22 is above TWN's D but below twn-caffe's.
  std::vector<float> w = kW;
  w[1] = -0.22f;
  EXPECT_NE(quantize(w, {{0, 2, 4}}, Quantizer::twn).q[1], 0.0f);
  EXPECT_EQ(quantize(w, {{0, 2, 4}}, Quantizer::twn_caffe).q[1], 0.0f);
}

TEST(SqKnownAnswers, KbitUniform) {
  // 2 bits: L = 1, s_1 = 1: 0.5 rounds half away to 1, -0.25 and 0.125 to 0. Row 2: s = 0.2, exact.
  const Quantized two = quantize(kW, {{0, 2, 4}}, Quantizer::kbit, 2);
  EXPECT_EQ(two.q, (std::vector<float>{1.f, 0.f, 0.f, -1.f, .2f, .2f, -.2f, 0.f}));
  expect_near(two.e, {0.875 / 1.875, 0.0}, 1e-12);
  // 3 bits: L = 3, s_1 = 1/3: levels 2, -1, 0, -3.
  const Quantized three = quantize(kW, {{0, 2, 4}}, Quantizer::kbit, 3);
  EXPECT_EQ(three.q[0], static_cast<float>(2.0 / 3.0));
  EXPECT_EQ(three.q[1], static_cast<float>(-1.0 / 3.0));
  EXPECT_EQ(three.q[2], 0.f);
  EXPECT_EQ(three.q[3], -1.f);
}

TEST(SqKnownAnswers, EveryQuantizerMatchesTheNaiveReferenceOnRaggedLayers) {
  const std::vector<quant::SqSegment> segments = {{0, 7, 13}, {91, 1, 300}, {391, 33, 9}, {700, 16, 257}};
  const std::vector<float> w = sq::test::random_weights(700 + 16 * 257, 11);
  for (Quantizer quantizer :
       {Quantizer::bwn, Quantizer::twn, Quantizer::twn_caffe, Quantizer::twn_channel, Quantizer::kbit}) {
    for (int bits : {2, 4, 8}) {
      if (quantizer != Quantizer::kbit && bits != 2) continue;
      const Quantized got = quantize(w, segments, quantizer, bits);
      std::size_t unit = 0;
      for (const auto& s : segments) {
        const std::vector<float> layer(w.begin() + s.offset, w.begin() + s.offset + s.rows * s.cols);
        const sq::test::RefLayer ref = sq::test::reference_quantize(layer, s.rows, s.cols, quantizer, bits);
        for (std::int64_t i = 0; i < s.rows * s.cols; ++i) {
          ASSERT_EQ(got.q[static_cast<std::size_t>(s.offset + i)], ref.q[static_cast<std::size_t>(i)])
              << quant::to_string(quantizer) << " bits " << bits << " offset " << s.offset << " element " << i;
        }
        for (double e : ref.error) EXPECT_NEAR(got.e[unit++], e, 1e-12) << quant::to_string(quantizer);
      }
    }
  }
}

TEST(SqKnownAnswers, ProbabilitiesMatchTheReferenceForEveryFunction) {
  const std::vector<double> e = {0.0, 1e-9, 0.3, 0.5, 0.9, 1.7, 0.31};
  for (ProbabilityFn fn :
       {ProbabilityFn::constant, ProbabilityFn::linear, ProbabilityFn::softmax, ProbabilityFn::sigmoid}) {
    expect_near(probabilities(e, fn), sq::test::reference_probabilities(e, fn), 1e-14);
  }
}

TEST(SqKnownAnswers, ElementGranularityErrorsArePerWeight) {
  quant::SqOptions options;
  options.quantizer = Quantizer::bwn;
  options.granularity = quant::Granularity::element;
  quant::SqPipeline pipeline({{0, 2, 4}}, options, sq::Device::cpu());
  std::vector<float> q(8);
  pipeline.quantize_all(kW.data(), q.data(), nullptr);
  const std::vector<double> e = pipeline.errors_to_host(nullptr);
  ASSERT_EQ(e.size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) {
    const double want = kW[i] == 0.f ? 0.0 : std::fabs(double(kW[i]) - double(q[i])) / std::fabs(double(kW[i]));
    EXPECT_DOUBLE_EQ(e[i], want) << i;
  }
  EXPECT_DOUBLE_EQ(e[0], 0.0625);  // |0.5 - 0.46875| / 0.5
  EXPECT_EQ(e[7], 0.0);            // W = 0
}

}  // namespace
