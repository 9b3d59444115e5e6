// The CPU twin's vectorised row loops (lane blocks, whole-vector folds, 4-wide quantize) against a plain scalar
// reference that adds in the canonical order (sq/detail/sq_reduce.hpp canonical_sum, the GPU's order), on ragged
// rows, for every quantizer and both ISA builds: row errors and quantized values equal to the bit.
#include "sq/detail/host_fp.hpp"  // first: the reference must not be FMA-contracted either

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "cpu/sq_quantize.hpp"
#include "sq/core/philox.hpp"
#include "sq/detail/sq_math.hpp"
#include "sq/detail/sq_reduce.hpp"
#include "sq/detail/sq_row.hpp"
#include "sq/quant/pipeline.hpp"

namespace {

namespace quant = sq::quant;
namespace detail = sq::detail;
using detail::canonical_sum;

// Rows shorter than, equal to and longer than 256 lanes, and ragged last chunks and lane blocks.
const std::vector<quant::SqSegment> kRagged = {{0, 3, 1},      {3, 2, 17},      {37, 5, 144},
                                               {757, 3, 255},  {1522, 2, 256},  {2034, 3, 257},
                                               {2805, 2, 300}, {3405, 2, 1000}, {5405, 2, 4097}};
constexpr std::int64_t kSize = 5405 + 2 * 4097 + 3;

// Signs, magnitudes over 40 binades (so the order of additions matters) and exact zeros.
std::vector<float> ragged_weights() {
  std::vector<float> w(static_cast<std::size_t>(kSize));
  for (std::int64_t i = 0; i < kSize; ++i) {
    const float u = sq::philox_uniform_at(77, 1, static_cast<std::uint64_t>(i));
    w[static_cast<std::size_t>(i)] = i % 13 == 0 ? 0.0f : std::ldexp(u - 0.5f, static_cast<int>(i % 41) - 20);
  }
  return w;
}

struct Reference {
  std::vector<double> error;  // per row
  std::vector<float> q;       // quantized weights (gaps 0)
};

// SQ_SPEC sections 3-4 with every sum in the canonical order, one scalar at a time.
Reference reference(const std::vector<float>& w, quant::Quantizer quantizer, int bits) {
  Reference out{{}, std::vector<float>(w.size(), 0.0f)};
  const int levels = quantizer == quant::Quantizer::kbit ? detail::kbit_levels(bits) : 0;
  const detail::QuantKind kind = quantizer == quant::Quantizer::bwn    ? detail::QuantKind::bwn
                                 : quantizer == quant::Quantizer::kbit ? detail::QuantKind::kbit
                                                                       : detail::QuantKind::ternary;
  for (const quant::SqSegment& s : kRagged) {
    const float* layer = w.data() + s.offset;
    auto row_sum = [&](std::int64_t r, auto term) {
      return canonical_sum(s.cols, [&](std::int64_t j) { return term(static_cast<double>(layer[r * s.cols + j])); });
    };
    std::vector<double> sum_abs(static_cast<std::size_t>(s.rows)), signed_sum(sum_abs.size()), dev(sum_abs.size());
    for (std::int64_t r = 0; r < s.rows; ++r) {
      sum_abs[r] = row_sum(r, [](double x) { return std::fabs(x); });
      signed_sum[r] = row_sum(r, [](double x) { return x; });
    }
    const double count = static_cast<double>(s.rows * s.cols);
    const double mean = canonical_sum(s.rows, [&](std::int64_t r) { return signed_sum[r]; }) / count;
    for (std::int64_t r = 0; r < s.rows; ++r) dev[r] = row_sum(r, [&](double x) { return std::fabs(x - mean); });
    double layer_d = 0.0;
    if (quantizer == quant::Quantizer::twn) {
      layer_d = detail::twn_threshold(canonical_sum(s.rows, [&](std::int64_t r) { return sum_abs[r]; }), count);
    } else if (quantizer == quant::Quantizer::twn_caffe) {
      layer_d = detail::twn_threshold(canonical_sum(s.rows, [&](std::int64_t r) { return dev[r]; }), count);
    }
    for (std::int64_t r = 0; r < s.rows; ++r) {
      const double d = quantizer == quant::Quantizer::twn_channel ? detail::twn_threshold(sum_abs[r], s.cols) : layer_d;
      const double above = row_sum(r, [&](double x) { return std::fabs(x) > d ? std::fabs(x) : 0.0; });
      const double above_count = row_sum(r, [&](double x) { return std::fabs(x) > d ? 1.0 : 0.0; });
      double max_abs = 0.0;
      for (std::int64_t j = 0; j < s.cols; ++j) max_abs = std::fmax(max_abs, std::fabs(layer[r * s.cols + j]));
      const double scale = detail::row_scale(kind, sum_abs[r], s.cols, above, above_count, max_abs, levels);
      float* q = out.q.data() + s.offset + r * s.cols;
      for (std::int64_t j = 0; j < s.cols; ++j)
        q[j] = detail::quantize_value(kind, layer[r * s.cols + j], scale, d, levels);
      const double error = canonical_sum(s.cols, [&](std::int64_t j) {
        return std::fabs(static_cast<double>(layer[r * s.cols + j]) - static_cast<double>(q[j]));
      });
      out.error.push_back(detail::row_error(error, sum_abs[r]));
    }
  }
  return out;
}

TEST(SqTwinOrder, VectorisedRowLoopsAddInTheCanonicalOrder) {
  const std::vector<float> w = ragged_weights();
  const bool has_avx2 = [] {
    sq::cpu::sq_quantize_allow_avx2(true);
    return sq::cpu::sq_quantize_uses_avx2();
  }();
  for (quant::Quantizer qz : {quant::Quantizer::bwn, quant::Quantizer::twn, quant::Quantizer::twn_caffe,
                              quant::Quantizer::twn_channel, quant::Quantizer::kbit}) {
    quant::SqOptions o;
    o.quantizer = qz;
    o.bits = 4;
    const Reference want = reference(w, qz, o.bits);
    for (bool avx2 : {false, true}) {
      if (avx2 && !has_avx2) continue;
      sq::cpu::sq_quantize_allow_avx2(avx2);
      quant::SqPipeline p(kRagged, o, sq::Device::cpu());
      std::vector<float> q(w.size(), 0.0f);
      p.quantize_all(w.data(), q.data(), nullptr);
      const std::vector<double> errors = p.errors_to_host(nullptr);
      ASSERT_EQ(errors.size(), want.error.size());
      for (std::size_t i = 0; i < errors.size(); ++i) {
        EXPECT_EQ(errors[i], want.error[i]) << quant::to_string(qz) << (avx2 ? " avx2" : " baseline") << " row " << i;
      }
      for (std::size_t i = 0; i < w.size(); ++i) {
        ASSERT_EQ(std::signbit(q[i]), std::signbit(want.q[i])) << quant::to_string(qz) << " element " << i;
        ASSERT_EQ(q[i], want.q[i]) << quant::to_string(qz) << (avx2 ? " avx2" : " baseline") << " element " << i;
      }
    }
  }
  sq::cpu::sq_quantize_allow_avx2(true);
}

}  // namespace
