// Packed-code kernels (see packed_kernels.hpp). Tiles: kRows output rows share every load of x; columns are
// walked in blocks of kCols so the kRows x kCols accumulators stay in L1. Single-threaded.
#include "deploy/packed_kernels.hpp"

#include <algorithm>
#include <vector>

#include "sq/deploy/packed_codes.hpp"

namespace sq::deploy::detail {
namespace {

constexpr int kRows = 4;
constexpr std::int64_t kCols = 256;

// Levels of rows [row0, row0 + kRows) into tile[r * cols + k]; rows past the end are 0.
void expand_tile(float* tile, const PackedWeight& w, std::int64_t row0) {
  for (int r = 0; r < kRows; ++r) {
    float* out = tile + r * w.cols;
    if (row0 + r < w.rows) {
      decode_row(out, w.codes + (row0 + r) * w.row_bytes, w.cols, w.bits);
    } else {
      std::fill(out, out + w.cols, 0.f);
    }
  }
}

}  // namespace

void packed_gemm_columns(float* y, const PackedWeight& w, const float* bias, const float* x, std::int64_t p) {
  const std::int64_t k_total = w.cols;
  std::vector<float> tile(static_cast<std::size_t>(kRows * k_total));
  alignas(64) float acc[kRows][kCols];
  for (std::int64_t row0 = 0; row0 < w.rows; row0 += kRows) {
    expand_tile(tile.data(), w, row0);
    const float* l0 = tile.data();
    const float* l1 = l0 + k_total;
    const float* l2 = l1 + k_total;
    const float* l3 = l2 + k_total;
    const int rows_here = static_cast<int>(std::min<std::int64_t>(kRows, w.rows - row0));
    for (std::int64_t p0 = 0; p0 < p; p0 += kCols) {
      const std::int64_t n = std::min(kCols, p - p0);
      for (int r = 0; r < kRows; ++r) std::fill(acc[r], acc[r] + n, 0.f);
      for (std::int64_t k = 0; k < k_total; ++k) {
        const float a0 = l0[k], a1 = l1[k], a2 = l2[k], a3 = l3[k];
        if (a0 == 0.f && a1 == 0.f && a2 == 0.f && a3 == 0.f) continue;  // TWN zeros cost nothing
        const float* xk = x + k * p + p0;
        for (std::int64_t j = 0; j < n; ++j) {
          const float v = xk[j];
          acc[0][j] += a0 * v;
          acc[1][j] += a1 * v;
          acc[2][j] += a2 * v;
          acc[3][j] += a3 * v;
        }
      }
      for (int r = 0; r < rows_here; ++r) {
        const float s = w.scales[row0 + r], b = bias ? bias[row0 + r] : 0.f;
        float* out = y + (row0 + r) * p + p0;
        for (std::int64_t j = 0; j < n; ++j) out[j] = s * acc[r][j] + b;
      }
    }
  }
}

void packed_gemm_rows(float* y, const PackedWeight& w, const float* bias, const float* x, std::int64_t batch) {
  const std::int64_t k_total = w.cols;
  std::vector<float> tile(static_cast<std::size_t>(kRows * k_total));
  for (std::int64_t row0 = 0; row0 < w.rows; row0 += kRows) {
    expand_tile(tile.data(), w, row0);
    const int rows_here = static_cast<int>(std::min<std::int64_t>(kRows, w.rows - row0));
    for (std::int64_t n = 0; n < batch; ++n) {
      const float* xn = x + n * k_total;
      for (int r = 0; r < rows_here; ++r) {
        const float* l = tile.data() + r * k_total;
        // Eight partial sums: independent chains the compiler can keep in one vector register.
        float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        std::int64_t k = 0;
        for (; k + 8 <= k_total; k += 8) {
          for (int j = 0; j < 8; ++j) part[j] += l[k + j] * xn[k + j];
        }
        float sum = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
        for (; k < k_total; ++k) sum += l[k] * xn[k];
        y[n * w.rows + row0 + r] = w.scales[row0 + r] * sum + (bias ? bias[row0 + r] : 0.f);
      }
    }
  }
}

}  // namespace sq::deploy::detail
