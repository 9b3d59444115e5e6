// Row-major sgemm on the context's device: OpenBLAS on the CPU, cuBLAS on the GPU (math mode set on the handle).
#pragma once

#include <cstdint>

#include "sq/config.hpp"
#include "sq/nn/context.hpp"

namespace sq::nn::detail {

// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C, all row-major with leading dimensions lda, ldb, ldc.
void gemm(const ExecutionContext& ctx, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
          float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc);

#if SQ_WITH_CUDA
void gemm_cuda(const ExecutionContext& ctx, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
               float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
               std::int64_t ldc);
#endif

}  // namespace sq::nn::detail
