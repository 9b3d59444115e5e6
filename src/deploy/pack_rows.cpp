// Levels and row scales from Q(W): BWN / TWN rows hold one magnitude (the row scale) and its negation (and 0 for
// TWN), so codes and scale are exact; a k-bit row holds float(s * l): s is recovered as max|q| / L (the largest
// weight takes level L) and each level as round(q / s), checked to reproduce q within fp32 rounding.
#include "deploy/pack_rows.hpp"

#include <cmath>

#include "sq/core/error.hpp"
#include "sq/deploy/packed_codes.hpp"
#include "sq/detail/sq_math.hpp"

namespace sq::deploy::detail {

PackedRows rows_from_quantized(const float* q, std::int64_t rows, std::int64_t cols, int bits,
                               const std::string& name) {
  SQ_CHECK(bits >= 1 && bits <= 8, name << ": " << bits << " bits per weight cannot be packed (1..8)");
  PackedRows p;
  p.rows = rows;
  p.cols = cols;
  p.bits = bits;
  p.levels.resize(static_cast<std::size_t>(rows * cols));
  p.scales.resize(static_cast<std::size_t>(rows));
  const int top = bits == 1 ? 1 : sq::detail::kbit_levels(bits);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = q + r * cols;
    std::int8_t* level = p.levels.data() + r * cols;
    float max_abs = 0.f;
    for (std::int64_t i = 0; i < cols; ++i) max_abs = std::fmax(max_abs, std::fabs(row[i]));
    const float scale = bits <= 2 ? max_abs : max_abs / static_cast<float>(top);
    p.scales[static_cast<std::size_t>(r)] = scale;
    for (std::int64_t i = 0; i < cols; ++i) {
      const float v = row[i];
      int l = 0;
      if (bits == 1) {
        l = std::signbit(v) ? -1 : 1;
        SQ_CHECK(std::fabs(v) == scale, name << " row " << r << ": BWN value " << v << " is not +-" << scale);
      } else if (scale > 0.f) {
        l = static_cast<int>(std::lround(static_cast<double>(v) / static_cast<double>(scale)));
        const double back = static_cast<double>(scale) * l;
        SQ_CHECK(l >= -top && l <= top && std::fabs(back - v) <= 1e-5 * static_cast<double>(max_abs),
                 name << " row " << r << " element " << i << ": value " << v << " is not a level of scale " << scale
                      << " (" << bits << " bits)");
      }
      level[i] = static_cast<std::int8_t>(l);
    }
  }
  return p;
}

void negate_row(PackedRows& packed, std::int64_t row) {
  std::int8_t* level = packed.levels.data() + row * packed.cols;
  for (std::int64_t i = 0; i < packed.cols; ++i) level[i] = static_cast<std::int8_t>(-level[i]);
}

Tensor codes_tensor(const PackedRows& packed) {
  const std::int64_t row_bytes = packed_row_bytes(packed.cols, packed.bits);
  Tensor t({packed.rows, row_bytes}, DType::u8, Device::cpu());
  std::uint8_t* bytes = static_cast<std::uint8_t*>(t.raw());
  std::fill(bytes, bytes + t.bytes(), std::uint8_t{0});
  for (std::int64_t r = 0; r < packed.rows; ++r) {
    for (std::int64_t i = 0; i < packed.cols; ++i)
      put_code(bytes + r * row_bytes, i, packed.bits, packed.levels[static_cast<std::size_t>(r * packed.cols + i)]);
  }
  return t;
}

}  // namespace sq::deploy::detail
