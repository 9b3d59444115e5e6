// Packed-code kernels (see packed_kernels.hpp): the loops of packed_kernels.inc in the baseline ISA, or their
// AVX2 + FMA build (packed_kernels_avx2.cpp) when the CPU has both. Single-threaded.
#include "deploy/packed_kernels.hpp"

#include <algorithm>
#include <vector>

#include "sq/deploy/packed_codes.hpp"

namespace sq::deploy::detail {

namespace baseline {
#include "deploy/packed_kernels.inc"
}  // namespace baseline

namespace avx2 {  // packed_kernels_avx2.cpp
bool available();
void gemm_columns(float* y, const PackedWeight& w, const float* bias, const float* x, std::int64_t p, float* tile);
void gemm_rows(float* y, const PackedWeight& w, const float* bias, const float* x, std::int64_t batch, float* tile);
}  // namespace avx2

namespace {
bool use_avx2() {
  static const bool yes = avx2::available();
  return yes;
}
std::vector<float> tile_for(const PackedWeight& w) {
  return std::vector<float>(static_cast<std::size_t>(baseline::kRows * w.cols));
}
}  // namespace

void packed_gemm_columns(float* y, const PackedWeight& w, const float* bias, const float* x, std::int64_t p) {
  std::vector<float> tile = tile_for(w);
  if (use_avx2()) return avx2::gemm_columns(y, w, bias, x, p, tile.data());
  baseline::gemm_columns_impl(y, w, bias, x, p, tile.data());
}

void packed_gemm_rows(float* y, const PackedWeight& w, const float* bias, const float* x, std::int64_t batch) {
  std::vector<float> tile = tile_for(w);
  if (use_avx2()) return avx2::gemm_rows(y, w, bias, x, batch, tile.data());
  baseline::gemm_rows_impl(y, w, bias, x, batch, tile.data());
}

}  // namespace sq::deploy::detail
