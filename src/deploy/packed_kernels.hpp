// CPU kernels that compute from packed codes (sq/deploy/packed_codes.hpp; decoding sq/detail/packed_math.hpp):
// y_o = scale_o * sum_k level_ok * x_k + bias_o, the multiply by the row scale once per output. GEMM (conv, FC at
// batch >= 4): a block of 6 rows x 256 terms is expanded into levels in L1 and a 6 x 16 register block runs over
// column panels; GEMV (FC at batch < 4, memory-bound): each code byte is expanded through a table of levels
// (packed_kernels.inc). Single-threaded; AVX2 + FMA build chosen at run time.
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

// Tests: true = run the baseline-ISA build even where AVX2 + FMA is available. Returns whether the AVX2 build
// is now in use.
bool set_packed_baseline_isa(bool baseline);

}  // namespace sq::deploy::detail
