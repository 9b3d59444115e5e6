// The CPU packed kernels (src/deploy/packed_kernels*: GEMM over column panels with k-blocks, GEMV through the
// level tables) against a plain sum over the shared decoding, in the AVX2 build and in the baseline one, at every
// code width and with every tail: rows not a multiple of the 6-row block, columns not a multiple of the panel,
// k not a multiple of a code byte or of the k-block, FC batches on both sides of the GEMV / GEMM switch.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#include "deploy/packed_kernels.hpp"
#include "sq/core/philox.hpp"
#include "sq/deploy/packed_codes.hpp"

namespace {

using sq::deploy::detail::PackedWeight;

struct Layer {
  std::vector<std::uint8_t> codes;
  std::vector<float> scales, bias;
  PackedWeight w;
};

Layer make_layer(std::int64_t rows, std::int64_t cols, int bits, std::uint64_t seed) {
  Layer l;
  const std::int64_t row_bytes = sq::deploy::packed_row_bytes(cols, bits);
  l.codes.assign(static_cast<std::size_t>(rows * row_bytes), 0);
  const int top = bits == 1 ? 1 : (1 << (bits - 1)) - 1;
  for (std::int64_t o = 0; o < rows; ++o) {
    l.scales.push_back(0.05f + sq::philox_uniform_at(seed, 1, static_cast<std::uint64_t>(o)));
    l.bias.push_back(sq::philox_uniform_at(seed, 2, static_cast<std::uint64_t>(o)) - 0.5f);
    for (std::int64_t k = 0; k < cols; ++k) {
      const float u = sq::philox_uniform_at(seed, 3, static_cast<std::uint64_t>(o * cols + k));
      int level = static_cast<int>(u * float(2 * top + 1)) - top;
      if (bits == 1) level = u < 0.5f ? -1 : 1;
      sq::deploy::put_code(l.codes.data() + o * row_bytes, k, bits, level);
    }
  }
  l.w = {l.codes.data(), l.scales.data(), rows, cols, row_bytes, bits};
  return l;
}

std::vector<float> values(std::int64_t n, std::uint64_t seed) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = 4.f * sq::philox_uniform_at(seed, 4, i) - 2.f;
  return v;
}

// Reference: double sums over get_code; tolerance relative to sum |level * x| (fp32 reassociation only).
double reference(const Layer& l, std::int64_t o, const float* x, std::int64_t stride, double* magnitude) {
  double s = 0, m = 0;
  for (std::int64_t k = 0; k < l.w.cols; ++k) {
    const double t = sq::deploy::get_code(l.codes.data() + o * l.w.row_bytes, k, l.w.bits) * double(x[k * stride]);
    s += t;
    m += std::fabs(t);
  }
  *magnitude = l.scales[o] * m + 1.0;
  return l.scales[o] * s + l.bias[o];
}

class PackedKernels : public ::testing::TestWithParam<bool> {  // true: baseline ISA
 protected:
  void SetUp() override { sq::deploy::detail::set_packed_baseline_isa(GetParam()); }
  void TearDown() override { sq::deploy::detail::set_packed_baseline_isa(false); }
};

TEST_P(PackedKernels, ColumnsGemmMatchesThePlainSum) {
  std::uint64_t seed = 1;
  for (int bits : {1, 2, 3, 8})
    for (const auto& [rows, cols, p] : {std::array<std::int64_t, 3>{13, 27, 37}, {6, 600, 16}, {7, 9, 1}}) {
      const Layer l = make_layer(rows, cols, bits, ++seed);
      const std::vector<float> x = values(cols * p, seed);
      std::vector<float> y(static_cast<std::size_t>(rows * p), NAN);
      sq::deploy::detail::packed_gemm_columns(y.data(), l.w, l.bias.data(), x.data(), p);
      for (std::int64_t o = 0; o < rows; ++o)
        for (std::int64_t j = 0; j < p; ++j) {
          double m = 0;
          const double r = reference(l, o, x.data() + j, p, &m);
          ASSERT_NEAR(y[static_cast<std::size_t>(o * p + j)], r, 1e-5 * m)
              << "bits " << bits << " rows " << rows << " cols " << cols << " p " << p << " at " << o << "," << j;
        }
    }
}

TEST_P(PackedKernels, RowsGemvAndGemmMatchThePlainSum) {
  std::uint64_t seed = 100;
  for (int bits : {1, 2, 3, 8})
    for (std::int64_t batch : {1, 3, 4, 21})
      for (const auto& [rows, cols] : {std::array<std::int64_t, 2>{11, 37}, {5, 520}}) {
        const Layer l = make_layer(rows, cols, bits, ++seed);
        const std::vector<float> x = values(cols * batch, seed);
        std::vector<float> y(static_cast<std::size_t>(rows * batch), NAN);
        sq::deploy::detail::packed_gemm_rows(y.data(), l.w, l.bias.data(), x.data(), batch);
        for (std::int64_t n = 0; n < batch; ++n)
          for (std::int64_t o = 0; o < rows; ++o) {
            double m = 0;
            const double r = reference(l, o, x.data() + n * cols, 1, &m);
            ASSERT_NEAR(y[static_cast<std::size_t>(n * rows + o)], r, 1e-5 * m)
                << "bits " << bits << " batch " << batch << " rows " << rows << " cols " << cols;
          }
      }
}

INSTANTIATE_TEST_SUITE_P(BothBuilds, PackedKernels, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "baseline" : "best");
                         });

}  // namespace
