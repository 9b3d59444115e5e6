// The AVX2 + FMA build of packed_kernels.inc, chosen at run time by packed_kernels.cpp (GCC on x86-64 only).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "deploy/packed_kernels.hpp"
#include "sq/deploy/packed_codes.hpp"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define SQ_PACKED_AVX2_BUILD 1
// After the includes: only the loops below are compiled for AVX2 + FMA.
#pragma GCC target("avx2,fma")
#endif

namespace sq::deploy::detail::avx2 {

#if SQ_PACKED_AVX2_BUILD
namespace impl {
#define SQ_PACKED_AVX2 1
#include "deploy/packed_kernels.inc"
#undef SQ_PACKED_AVX2
}  // namespace impl
#endif

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
bool available() {
#if SQ_PACKED_AVX2_BUILD
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

void gemm_columns(float* y, const PackedWeight& w, const float* bias, const float* x, std::int64_t p) {
#if SQ_PACKED_AVX2_BUILD
  impl::gemm_columns_impl(y, w, bias, x, p);
#endif
}

void gemm_rows(float* y, const PackedWeight& w, const float* bias, const float* x, std::int64_t batch) {
#if SQ_PACKED_AVX2_BUILD
  impl::gemm_rows_impl(y, w, bias, x, batch);
#endif
}
#pragma GCC diagnostic pop

}  // namespace sq::deploy::detail::avx2
