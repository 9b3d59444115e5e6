// Row-major sgemm dispatch: OpenBLAS's cblas_sgemm on the CPU, src/cuda/gemm_cuda.cpp on the GPU.
#include "nn/gemm.hpp"

#include <cblas.h>

#include "sq/config.hpp"
#include "sq/core/error.hpp"

namespace sq::nn::detail {

void gemm(const ExecutionContext& ctx, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
          float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    gemm_cuda(ctx, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
#else
    SQ_FAIL("gemm on " << ctx.device.str() << " in a build without CUDA");
#endif
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

}  // namespace sq::nn::detail
