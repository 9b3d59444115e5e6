// Packed-code kernels (see packed_kernels.hpp): the loops of packed_kernels.inc in the baseline ISA, or their
// AVX2 + FMA build (packed_kernels_avx2.cpp) when the CPU has both. Single-threaded.
#include "deploy/packed_kernels.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "sq/deploy/packed_codes.hpp"

namespace sq::deploy::detail {

// 8-float vectors are two SSE registers here; the functions passing them are internal (inlined), so the ABI note
// GCC gives for AVX-sized vectors without AVX does not apply.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
namespace baseline {
#include "deploy/packed_kernels.inc"
}  // namespace baseline
#pragma GCC diagnostic pop

namespace avx2 {  // packed_kernels_avx2.cpp
bool available();
void gemm_columns(float* y, const PackedWeight& w, const float* bias, const float* x, std::int64_t p);
void gemm_rows(float* y, const PackedWeight& w, const float* bias, const float* x, std::int64_t batch);
}  // namespace avx2

namespace {
std::atomic<bool> force_baseline{false};
bool use_avx2() {
  static const bool yes = avx2::available();
  return yes && !force_baseline.load(std::memory_order_relaxed);
}
}  // namespace

bool set_packed_baseline_isa(bool baseline) {
  force_baseline = baseline;
  return !baseline && avx2::available();
}

void packed_gemm_columns(float* y, const PackedWeight& w, const float* bias, const float* x, std::int64_t p) {
  if (use_avx2()) return avx2::gemm_columns(y, w, bias, x, p);
  baseline::gemm_columns_impl(y, w, bias, x, p);
}

void packed_gemm_rows(float* y, const PackedWeight& w, const float* bias, const float* x, std::int64_t batch) {
  if (use_avx2()) return avx2::gemm_rows(y, w, bias, x, batch);
  baseline::gemm_rows_impl(y, w, bias, x, batch);
}

}  // namespace sq::deploy::detail
