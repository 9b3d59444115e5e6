// Host twin of kernels/sq_quantize.cu: the same formulas (sq/detail/sq_row.hpp) and the same summation order
// (sq/detail/sq_reduce.hpp), so every row scale, threshold and error equals the GPU's to the bit. Each lane l
// adds elements l, l + 256, ... of its row; lanes are walked 16 at a time in registers (see lane_sums in
// sq_quantize_rows.inc); the quantizer kind is a template parameter so its switch folds away. The loops
// (sq_quantize_rows.inc) also exist as an AVX2 build (sq_quantize_avx2.cpp), chosen at run time when the CPU has AVX2
// (SQ_CPU_NO_AVX2=1 turns it off).

#include "sq/detail/host_fp.hpp"  // first: no FMA contraction, vectorisable comparisons

#include "cpu/sq_quantize.hpp"
#include "cpu/sq_vec4.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "sq/detail/sq_reduce.hpp"
#include "sq/detail/sq_row.hpp"

namespace sq::cpu {
namespace baseline {
#if defined(__x86_64__) && !defined(__AVX__)
#define SQ_ROWS_VECTOR_TERMS 0  // SSE2 only: see sq_quantize_rows.inc
#else
#define SQ_ROWS_VECTOR_TERMS 1
#endif
#include "cpu/sq_quantize_rows.inc"
}  // namespace baseline

namespace avx2 {  // sq_quantize_avx2.cpp; only called when has_avx2()
bool available();
void row_sums(const detail::SqWorkspaceView& ws, const float* weights, bool with_signed_sum);
void row_deviation(const detail::SqWorkspaceView& ws, const float* weights);
void row_quantize(const detail::SqWorkspaceView& ws, const float* weights, const detail::SqKernelConfig& config,
                  bool row_sums_ready);
void row_values(float* out, const float* w, std::int64_t n, detail::QuantKind kind, double scale, double threshold,
                int levels);
}  // namespace avx2

namespace {
bool& avx2_allowed() {
  static bool allowed = std::getenv("SQ_CPU_NO_AVX2") == nullptr;
  return allowed;
}
bool use_avx2() {
  static const bool available = avx2::available();
  return available && avx2_allowed();
}
}  // namespace

bool sq_quantize_uses_avx2() {
  return use_avx2();
}
void sq_quantize_allow_avx2(bool allow) {
  avx2_allowed() = allow;
}

void sq_row_sums(const detail::SqWorkspaceView& ws, const float* weights, bool with_signed_sum) {
  if (use_avx2()) return avx2::row_sums(ws, weights, with_signed_sum);
  baseline::row_sums_impl(ws, weights, with_signed_sum);
}

void sq_row_deviation(const detail::SqWorkspaceView& ws, const float* weights) {
  if (use_avx2()) return avx2::row_deviation(ws, weights);
  baseline::row_deviation_impl(ws, weights);
}

void sq_row_quantize(const detail::SqWorkspaceView& ws, const float* weights, const detail::SqKernelConfig& config,
                     bool row_sums_ready) {
  if (use_avx2()) return avx2::row_quantize(ws, weights, config, row_sums_ready);
  baseline::row_quantize_impl(ws, weights, config, row_sums_ready);
}

void sq_quantize_row_values(float* out, const float* w, std::int64_t n, detail::QuantKind kind, double scale,
                            double threshold, int levels) {
  if (use_avx2()) return avx2::row_values(out, w, n, kind, scale, threshold, levels);
  baseline::row_values_impl(out, w, n, kind, scale, threshold, levels);
}

}  // namespace sq::cpu
