// A row-major sgemm C = op(A) op(B) of fixed shape on oneDNN's matmul (Linear's CPU fast path): the primitive and
// its scratchpad are made once at setup, like the convolutions', so Linear no longer wakes OpenBLAS's thread pool
// (one pool for the whole CPU step: OpenMP's).
#pragma once

#include <cstdint>
#include <memory>

namespace sq::nn::detail {

class OnednnGemm {
 public:
  // Shapes and leading dimensions as in nn/gemm.hpp; alpha = 1, beta = 0.
  OnednnGemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t lda,
             std::int64_t ldb, std::int64_t ldc);
  ~OnednnGemm();
  OnednnGemm(const OnednnGemm&) = delete;
  OnednnGemm& operator=(const OnednnGemm&) = delete;

  void run(const float* a, const float* b, float* c);

 private:
  struct Plan;
  std::unique_ptr<Plan> plan_;
};

}  // namespace sq::nn::detail
