// CPU kernels that compute from packed codes (sq/deploy/packed_codes.hpp): a tile of kRows rows is expanded into
// levels in a small cache-resident buffer, then y_o = scale_o * sum_k level_ok * x_k + bias_o. Levels are
// +-1 / 0 for BWN / TWN, so each term adds or subtracts x_k (columns whose levels are all 0 in the tile are
// skipped); the multiply by the row scale happens once per output.
#pragma once

#include <cstdint>

namespace sq::deploy::detail {

struct PackedWeight {
  const std::uint8_t* codes = nullptr;  // [rows, row_bytes]
  const float* scales = nullptr;        // [rows]
  std::int64_t rows = 0, cols = 0, row_bytes = 0;
  int bits = 0;
};

// Convolution as a GEMM over im2col columns: y[o * P + p] = scale_o * sum_k level(o, k) * x[k * P + p] + bias_o.
// bias may be null.
void packed_gemm_columns(float* y, const PackedWeight& w, const float* bias, const float* x, std::int64_t p);

// Fully connected: y[n * rows + o] = scale_o * sum_k level(o, k) * x[n * cols + k] + bias_o, n < batch.
void packed_gemm_rows(float* y, const PackedWeight& w, const float* bias, const float* x, std::int64_t batch);

}  // namespace sq::deploy::detail
