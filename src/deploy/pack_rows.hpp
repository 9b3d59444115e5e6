// Quantized rows as integer levels and one scale per row, read off Q(W), and their U8 code tensor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sq/core/tensor.hpp"

namespace sq::deploy::detail {

struct PackedRows {
  std::int64_t rows = 0, cols = 0;
  int bits = 0;
  std::vector<std::int8_t> levels;  // rows * cols, in [-L, L] (+-1 for bits = 1)
  std::vector<float> scales;        // rows, >= 0
};

// q: Q(W) of a rows x cols weight, as the quantizer wrote it: per row every value is scale * level with the
// quantizer's scale (BWN: +-a; TWN: 0 or +-a; k-bit: s * l, |l| <= L). Throws sq::Error naming `name` and the
// row when a row is not of that form.
PackedRows rows_from_quantized(const float* q, std::int64_t rows, std::int64_t cols, int bits, const std::string& name);

void negate_row(PackedRows& packed, std::int64_t row);

// U8 [rows, packed_row_bytes(cols, bits)] in the layout of sq/deploy/packed_codes.hpp.
Tensor codes_tensor(const PackedRows& packed);

}  // namespace sq::deploy::detail
