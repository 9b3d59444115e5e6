// The bit layout of packed low-bit weights (docs/DEPLOY.md), one definition shared by the exporter, the CPU
// inference kernels, the GPU kernels and the ONNX script's reader (the decoding itself is
// sq/detail/packed_math.hpp, which kernels and host share): a row of `cols` codes at `bits` bits each, packed LSB
// first into ceil(cols * bits / 8) bytes (the last byte's unused high bits are 0).
//   bits = 1 (BWN):      bit 1 = +1, bit 0 = -1.
//   bits = 2..8 (TWN as 2 bits, k-bit): the signed level in [-L, L], L = 2^(bits-1) - 1, in two's complement.
// A weight is scale_row * level; nothing else is stored per weight.
#pragma once

#include <cstdint>

#include "sq/detail/packed_math.hpp"

namespace sq::deploy {

inline std::int64_t packed_row_bytes(std::int64_t cols, int bits) {
  return (cols * bits + 7) / 8;
}

// Writes level `level` of element `index` into a zeroed row.
inline void put_code(std::uint8_t* row, std::int64_t index, int bits, int level) {
  const std::uint32_t code =
      bits == 1 ? (level > 0 ? 1u : 0u) : static_cast<std::uint32_t>(level) & ((1u << bits) - 1u);
  const std::int64_t bit = index * bits;
  // A code never straddles more than two bytes (bits <= 8).
  const std::uint32_t shifted = code << (bit % 8);
  row[bit / 8] = static_cast<std::uint8_t>(row[bit / 8] | (shifted & 0xffu));
  if ((bit % 8) + bits > 8) row[bit / 8 + 1] = static_cast<std::uint8_t>(row[bit / 8 + 1] | (shifted >> 8));
}

inline int get_code(const std::uint8_t* row, std::int64_t index, int bits) {
  return sq::detail::packed_level(row, index, bits);
}

// Expands a row into levels (as floats, for the inner loops): the "expand in cache" step of the packed kernels.
// The widths are constants in each loop, so the shared decoding inlines to shifts and masks.
inline void decode_row(float* out, const std::uint8_t* row, std::int64_t cols, int bits) {
  switch (bits) {
    case 1:
      for (std::int64_t i = 0; i < cols; ++i) out[i] = static_cast<float>(sq::detail::packed_level(row, i, 1));
      return;
    case 2:
      for (std::int64_t i = 0; i < cols; ++i) out[i] = static_cast<float>(sq::detail::packed_level(row, i, 2));
      return;
    default:
      for (std::int64_t i = 0; i < cols; ++i) out[i] = static_cast<float>(sq::detail::packed_level(row, i, bits));
  }
}

}  // namespace sq::deploy
