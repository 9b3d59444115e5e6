// The weights of the step tests' methods by name: "fwn" full precision (no SQ options), "twn" every row ternary
// (ratio 1), "sq-twn" half the rows (ratio .5), drawn from `seed`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sq/quant/options.hpp"

namespace sq::test {

inline std::optional<sq::quant::SqOptions> method_weights(const std::string& method, std::uint64_t seed = 0) {
  if (method == "fwn") return std::nullopt;
  sq::quant::SqOptions o;
  o.quantizer = sq::quant::Quantizer::twn;
  o.ratio = method == "sq-twn" ? 0.5 : 1.0;
  o.seed = seed;
  return o;
}

}  // namespace sq::test
