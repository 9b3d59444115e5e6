// Four doubles at a time for the SQ host twins' hot loops (GCC/Clang vector extensions): element-wise IEEE
// operations only (no FMA, no reassociation), so the SSE2 and AVX2 builds and the scalar formulas agree bit for bit.
#pragma once

#include <cstring>

// 32-byte vectors passed between always-inlined helpers of the twins (no ABI involved). Left off for the rest of
// the (twin) translation unit: its lambdas take these vectors by value too. (clang: the sanitizer/fuzzing builds.)
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#define SQ_VEC4_INLINE inline __attribute__((always_inline))

namespace sq::cpu::vec4 {

using V4f = float __attribute__((vector_size(16)));
using V4d = double __attribute__((vector_size(32)));
using V4i = long long __attribute__((vector_size(32)));

SQ_VEC4_INLINE V4d load4(const float* p) {  // 4 floats, widened exactly
  V4f f;
  std::memcpy(&f, p, sizeof f);
  return __builtin_convertvector(f, V4d);
}
SQ_VEC4_INLINE V4d load4d(const double* p) {
  V4d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
SQ_VEC4_INLINE void store4(float* p, V4d v) {  // narrowed with float rounding, like static_cast<float>
  const V4f f = __builtin_convertvector(v, V4f);
  std::memcpy(p, &f, sizeof f);
}
SQ_VEC4_INLINE V4d splat(double v) {
  return V4d{v, v, v, v};
}
SQ_VEC4_INLINE V4d abs4(V4d v) {  // std::fabs: clears the sign bit
  return reinterpret_cast<V4d>(reinterpret_cast<V4i>(v) & static_cast<long long>(0x7fffffffffffffffULL));
}
SQ_VEC4_INLINE V4d select4(V4i mask, V4d yes, V4d no) {  // mask: a comparison (each lane all ones or zeros)
  return reinterpret_cast<V4d>((mask & reinterpret_cast<V4i>(yes)) | (~mask & reinterpret_cast<V4i>(no)));
}

// quantize_value (sq/detail/sq_math.hpp) for bwn and ternary, as doubles: +-float(scale), or +-0 at or below the
// threshold (ternary), the sign chosen by x >= 0 (float(-s) == -float(s): rounding is symmetric).
// `scale_f` = double(float(scale)).
template <bool kTernary>
SQ_VEC4_INLINE V4d quantize4(V4d x, V4d scale_f, V4d threshold) {
  const V4d zero = splat(0.0);
  const V4d magnitude = kTernary ? select4(abs4(x) > threshold, scale_f, zero) : scale_f;
  return select4(x >= zero, magnitude, -magnitude);
}

}  // namespace sq::cpu::vec4
