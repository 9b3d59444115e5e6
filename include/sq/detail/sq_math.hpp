// SQ per-element math shared by the CUDA kernels and their host twins: exp/log written from + - * / (so both
// sides round identically), the quantizers, the probability transforms, sampling keys and the Philox layout.
#pragma once

#include <cstdint>
#include <cstring>

#include "sq/core/philox.hpp"
#include "sq/detail/host_device.hpp"

namespace sq::detail {

SQ_HOST_DEVICE inline std::uint64_t double_bits(double x) {
#if defined(__CUDA_ARCH__)
  return static_cast<std::uint64_t>(__double_as_longlong(x));
#else
  std::uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
#endif
}

SQ_HOST_DEVICE inline double bits_double(std::uint64_t bits) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(bits));
#else
  double x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
#endif
}

SQ_HOST_DEVICE inline bool is_finite(float x) {
  std::uint32_t bits;
#if defined(__CUDA_ARCH__)
  bits = __float_as_uint(x);
#else
  std::memcpy(&bits, &x, sizeof bits);
#endif
  return (bits & 0x7f800000u) != 0x7f800000u;
}

SQ_HOST_DEVICE inline double negative_infinity() {
  return bits_double(0xfff0000000000000ull);
}
SQ_HOST_DEVICE inline double abs_d(double x) {
  return x < 0.0 ? -x : x;
}

constexpr double kLn2 = 0.6931471805599453;
constexpr double kLn2Hi = 0.6931471803691238;  // 0x3fe62e42fee00000: k * kLn2Hi is exact for |k| < 2^20
constexpr double kLn2Lo = 1.9082149292705877e-10;
constexpr double kSqrt2 = 1.4142135623730951;

// Natural log for x > 0 (accurate to a few ulp): x = 2^k m, m in (sqrt(1/2), sqrt(2)], log m by the atanh
// series in s = (m - 1) / (m + 1). Only + - * / so that host and device agree bit for bit (libm's log and
// CUDA's log differ in the last bits, which would move sampling keys across each other).
SQ_HOST_DEVICE inline double log_d(double x) {
  if (!(x > 0.0)) return x == 0.0 ? negative_infinity() : bits_double(0x7ff8000000000000ull);
  std::uint64_t bits = double_bits(x);
  int exponent = static_cast<int>((bits >> 52) & 0x7ff);
  if (exponent == 0x7ff) return x;  // +inf
  int k = 0;
  if (exponent == 0) {         // subnormal: scale into the normal range first
    x *= 18014398509481984.0;  // 2^54
    bits = double_bits(x);
    exponent = static_cast<int>((bits >> 52) & 0x7ff);
    k = -54;
  }
  k += exponent - 1023;
  double m = bits_double((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);  // [1, 2)
  if (m > kSqrt2) {
    m = m * 0.5;
    k += 1;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double series = 1.0 / 23.0;
  for (int odd = 21; odd >= 1; odd -= 2) series = series * s2 + 1.0 / static_cast<double>(odd);
  return static_cast<double>(k) * kLn2Hi + (static_cast<double>(k) * kLn2Lo + 2.0 * s * series);
}

// e^x (accurate to a few ulp): x = k ln2 + r with |r| <= ln2 / 2, e^r by Taylor to degree 13, times 2^k.
// Same reason as log_d: only + - * /.
SQ_HOST_DEVICE inline double exp_d(double x) {
  if (x != x) return x;
  if (x > 709.782712893384) return bits_double(0x7ff0000000000000ull);
  if (x < -745.2) return 0.0;
  const double scaled = x / kLn2;
  const long long k = static_cast<long long>(scaled + (scaled >= 0.0 ? 0.5 : -0.5));
  const double kd = static_cast<double>(k);
  const double r = (x - kd * kLn2Hi) - kd * kLn2Lo;
  double taylor = 1.0;
  for (int i = 13; i >= 1; --i) taylor = 1.0 + (r / static_cast<double>(i)) * taylor;
  if (k > 1023) return taylor * 2.0 * bits_double(static_cast<std::uint64_t>(k - 1 + 1023) << 52);
  if (k >= -1022) return taylor * bits_double(static_cast<std::uint64_t>(k + 1023) << 52);
  // Result below the normal range: scale in two steps so the only rounding is the final one.
  return (taylor * bits_double(static_cast<std::uint64_t>(k + 1000 + 1023) << 52)) *
         bits_double(static_cast<std::uint64_t>(-1000 + 1023) << 52);
}

// --- quantizers (SQ_SPEC section 3). A row is described by its scale (a_i, or s_i for kbit) and threshold D.
enum class QuantKind : int { bwn = 0, ternary = 1, kbit = 2 };

// round_half_away_from_zero for |x| < 2^62.
SQ_HOST_DEVICE inline double round_half_away(double x) {
  const double magnitude = static_cast<double>(static_cast<long long>(abs_d(x) + 0.5));
  return x >= 0.0 ? magnitude : -magnitude;
}

SQ_HOST_DEVICE inline float quantize_value(QuantKind kind, float w, double scale, double threshold, int levels) {
  const double x = static_cast<double>(w);
  switch (kind) {
    case QuantKind::bwn: return static_cast<float>(x >= 0.0 ? scale : -scale);
    case QuantKind::ternary: {
      // Written as selects, not branches: random signs would mispredict on the CPU. x = 0 gives +0.
      const double magnitude = abs_d(x) > threshold ? scale : 0.0;
      return static_cast<float>(x >= 0.0 ? magnitude : -magnitude);
    }
    case QuantKind::kbit: {
      if (scale == 0.0) return 0.0f;
      double level = round_half_away(x / scale);
      const double top = static_cast<double>(levels);
      level = level > top ? top : (level < -top ? -top : level);
      return static_cast<float>(scale * level);
    }
  }
  return 0.0f;
}

// L = 2^(k-1) - 1 levels on each side for k-bit uniform quantization.
SQ_HOST_DEVICE inline int kbit_levels(int bits) {
  return (1 << (bits - 1)) - 1;
}

// Per-weight error of element granularity: |W - Q| / |W|, 0 where W = 0.
SQ_HOST_DEVICE inline double element_error(float w, float q) {
  const double x = static_cast<double>(w);
  return x == 0.0 ? 0.0 : abs_d(x - static_cast<double>(q)) / abs_d(x);
}

// --- probabilities (SQ_SPEC section 4).
constexpr double kErrorEpsilon = 1e-7;
enum class ProbKind : int { constant = 0, linear = 1, softmax = 2, sigmoid = 3 };

SQ_HOST_DEVICE inline double error_to_f(double e) {
  return 1.0 / (e + kErrorEpsilon);
}

// Unnormalised g(f); softmax is shifted by the layer's largest f so it never overflows.
SQ_HOST_DEVICE inline double probability_weight(ProbKind kind, double f, double f_max) {
  switch (kind) {
    case ProbKind::constant: return 1.0;
    case ProbKind::linear: return f;
    case ProbKind::softmax: return exp_d(f - f_max);
    case ProbKind::sigmoid: return 1.0 / (1.0 + exp_d(-f));
  }
  return 0.0;
}

// --- sampling keys (SQ_SPEC section 5). Keys map to uint64 in the same order, so one radix select serves all.
// topk: Efraimidis-Spirakis key log(u) / p; -inf where p = 0.
SQ_HOST_DEVICE inline double topk_key(float u, double p) {
  return p > 0.0 ? log_d(static_cast<double>(u)) / p : negative_infinity();
}

// Order-preserving map from double to uint64 (larger double -> larger integer).
SQ_HOST_DEVICE inline std::uint64_t sortable_key(double key) {
  const std::uint64_t bits = double_bits(key);
  return (bits >> 63) ? ~bits : (bits | 0x8000000000000000ull);
}

// --- randomness (SQ_SPEC section 6). Subsequence = (step << 16) | layer: collision-free for layer < 2^16 and
// step < 2^47. The frozen sampler draws from (2^47 + stage) in place of the step, so its partition depends on
// the stage only, never on a thread or block. The offset is the unit index (topk) or the draw number (roulette).
constexpr int kSqLayerBits = 16;
constexpr std::uint64_t kSqMaxLayers = 1ull << kSqLayerBits;
constexpr std::uint64_t kSqStepLimit = 1ull << 47;

SQ_HOST_DEVICE inline std::uint64_t sq_subsequence(std::uint64_t step, std::uint32_t layer) {
  return ((step & (kSqStepLimit - 1)) << kSqLayerBits) | layer;
}
SQ_HOST_DEVICE inline std::uint64_t sq_frozen_subsequence(std::uint64_t stage, std::uint32_t layer) {
  return ((kSqStepLimit | (stage & (kSqStepLimit - 1))) << kSqLayerBits) | layer;
}
SQ_HOST_DEVICE inline float sq_uniform(std::uint64_t seed, std::uint64_t subsequence, std::uint64_t index) {
  return philox_uniform_at(seed, subsequence, index);
}

}  // namespace sq::detail
