// Row-major sgemm through column-major cuBLAS: C^T = op(B)^T op(A)^T, i.e. swap the operands.
#include "cuda/cuda_libraries.hpp"
#include "nn/gemm.hpp"

namespace sq::nn::detail {

void gemm_cuda(const ExecutionContext& ctx, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
               float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
               std::int64_t ldc) {
  SQ_CHECK(ctx.cuda != nullptr, "gemm on " << ctx.device.str() << " needs a context from make_context()");
  // ExecutionContext::math is a plain field that callers may change after make_context(): follow it (a host-side
  // handle setting, no device work, so also fine under graph capture).
  if (ctx.cuda->cublas_math != ctx.math) {
    SQ_CUBLAS_CHECK(cublasSetMathMode(ctx.cuda->cublas, cublas_math_mode(ctx.math)));
    ctx.cuda->cublas_math = ctx.math;
  }
  SQ_CUBLAS_CHECK(cublasSgemm(ctx.cuda->cublas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                              trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                              static_cast<int>(k), &alpha, b, static_cast<int>(ldb), a, static_cast<int>(lda), &beta, c,
                              static_cast<int>(ldc)));
}

}  // namespace sq::nn::detail
