// The allowed range of every numeric RunConfig key, in one table: the JSON reader quotes it when a value does not
// fit its field's type, and RunConfig::validate checks it (for values from files and from the command line).
#pragma once

#include <cstdint>
#include <string>

namespace sq::train::detail {

// Steps, iterations and counts stay below 2^40: with at most kMaxStages stages the global step stays below 2^45,
// under the SQ pipeline's training-step range (the hybrid evaluation draws from 2^46 up).
constexpr std::int64_t kMaxCount = std::int64_t{1} << 40;
constexpr int kMaxStages = 32;

struct IntLimits {
  std::int64_t lo, hi;
};
struct RealLimits {
  double lo, hi;
  bool lo_open;  // (lo, hi] instead of [lo, hi]
  bool hi_open;  // [lo, hi) instead of [lo, hi]
};

// nullptr for keys without a table entry (seeds: any 64-bit value).
const IntLimits* int_limits(const std::string& key);
const RealLimits* real_limits(const std::string& key);

// "[1, 65536]", "(0, 1000]".
std::string range_text(const IntLimits& limits);
std::string range_text(const RealLimits& limits);

}  // namespace sq::train::detail
