// Host twins of kernels/batchnorm.cu: batch normalisation over [n, c, hw] tensors ((N,C,H,W) or (N,C) with hw = 1).
// `partials` and `slices` size the GPU's split reductions; the twin accepts and ignores them.
#pragma once

#include <cstdint>

namespace sq::cpu {

// Sum over the channel's count = n * hw elements of f(element index), in double (the reference the GPU is held
// to); shared by the twins and the CPU ranks' synchronised BatchNorm (src/dist/sync_batchnorm.cpp).
template <class F>
double channel_sum(std::int64_t n, std::int64_t c, std::int64_t hw, std::int64_t ch, F f) {
  double s = 0.0;
  for (std::int64_t b = 0; b < n; ++b) {
    const std::int64_t base = (b * c + ch) * hw;
    for (std::int64_t i = 0; i < hw; ++i) s += f(base + i);
  }
  return s;
}

// Training: batch statistics; saves mean and 1/sqrt(var + eps) for backward; updates the running statistics.
void batchnorm_forward_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                             float* partials, const float* x, const float* gamma, const float* beta, std::int64_t n,
                             std::int64_t c, std::int64_t hw, int slices, float momentum, float eps);
// Evaluation: running statistics.
void batchnorm_forward_eval(float* y, const float* x, const float* gamma, const float* beta, const float* running_mean,
                            const float* running_var, std::int64_t n, std::int64_t c, std::int64_t hw, float eps);
// Gradients of a training-mode forward (dgamma, dbeta overwritten).
void batchnorm_backward(float* dx, float* dgamma, float* dbeta, float* partials, const float* dy, const float* x,
                        const float* save_mean, const float* save_invstd, const float* gamma, std::int64_t n,
                        std::int64_t c, std::int64_t hw, int slices);

// Synchronised BN in phases (kernels/batchnorm.cuh), the caller all-reducing `sums` between them; the CPU ranks'
// synchronised BN (src/dist/sync_batchnorm.cpp) is these with an MPI all-reduce.
void batchnorm_sums_x(double* sums, float* partials, const float* x, std::int64_t n, std::int64_t c, std::int64_t hw,
                      int slices);
void batchnorm_sums_centered(double* sums, float* partials, const double* sums_x, const float* x, std::int64_t n,
                             std::int64_t c, std::int64_t hw, std::int64_t global_count, int slices);
void batchnorm_forward_from_sums(float* y, float* save_mean, float* save_invstd, float* running_mean,
                                 float* running_var, const double* sums, const float* x, const float* gamma,
                                 const float* beta, std::int64_t n, std::int64_t c, std::int64_t hw,
                                 std::int64_t global_count, float momentum, float eps);
void batchnorm_backward_sums(double* sums, float* dgamma, float* dbeta, float* partials, const float* dy,
                             const float* x, const float* save_mean, const float* save_invstd, std::int64_t n,
                             std::int64_t c, std::int64_t hw, int slices);
void batchnorm_backward_from_sums(float* dx, const double* sums, const float* dy, const float* x,
                                  const float* save_mean, const float* save_invstd, const float* gamma, std::int64_t n,
                                  std::int64_t c, std::int64_t hw, std::int64_t global_count);

}  // namespace sq::cpu
