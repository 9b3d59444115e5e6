// The AVX2 build of the host twin's row loops (sq_quantize_rows.inc), chosen at run time by sq_quantize.cpp.
// Same results as the baseline build: AVX2 without FMA, no reassociation, only more lanes per instruction.

#include "sq/detail/host_fp.hpp"  // first: no FMA contraction, vectorisable comparisons

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/sq_quantize.hpp"
#include "cpu/sq_vec4.hpp"
#include "sq/detail/sq_reduce.hpp"
#include "sq/detail/sq_row.hpp"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define SQ_HAVE_AVX2_BUILD 1
// After the includes: only the loops below are compiled for AVX2; inline helpers from the headers keep the
// baseline ISA (they still inline here), so no AVX2 code can leak into other translation units.
#pragma GCC target("avx2")
#else
#define SQ_HAVE_AVX2_BUILD 0
#endif

namespace sq::cpu::avx2 {

#if SQ_HAVE_AVX2_BUILD
#define SQ_ROWS_VECTOR_TERMS 1
#include "cpu/sq_quantize_rows.inc"

bool available() {
  return __builtin_cpu_supports("avx2");
}
void row_sums(const detail::SqWorkspaceView& ws, const float* weights, bool with_signed_sum) {
  row_sums_impl(ws, weights, with_signed_sum);
}
void row_deviation(const detail::SqWorkspaceView& ws, const float* weights) {
  row_deviation_impl(ws, weights);
}
void row_quantize(const detail::SqWorkspaceView& ws, const float* weights, const detail::SqKernelConfig& config,
                  bool row_sums_ready) {
  row_quantize_impl(ws, weights, config, row_sums_ready);
}
void row_values(float* out, const float* w, std::int64_t n, detail::QuantKind kind, double scale, double threshold,
                int levels) {
  row_values_impl(out, w, n, kind, scale, threshold, levels);
}
#else
bool available() {
  return false;
}
void row_sums(const detail::SqWorkspaceView&, const float*, bool) {}
void row_deviation(const detail::SqWorkspaceView&, const float*) {}
void row_quantize(const detail::SqWorkspaceView&, const float*, const detail::SqKernelConfig&, bool) {}
void row_values(float*, const float*, std::int64_t, detail::QuantKind, double, double, int) {}
#endif

}  // namespace sq::cpu::avx2
