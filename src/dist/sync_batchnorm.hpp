// Synchronised BatchNorm: the per-channel sums of the BN phases (kernels/batchnorm.cuh, twins in src/cpu/batchnorm.hpp)
// taken over the global batch by all-reducing each rank's sums, so N ranks of batch B compute the statistics of one
// batch N * B. CPU ranks: the twins over a Collective (MPI); GPU ranks: the kernels over a DeviceCollective (NCCL, on
// the step's stream), with `sums` a device buffer of 2 * c doubles and `partials` the layer's workspace.
#pragma once

#include <cstdint>

#include "sq/core/stream.hpp"
#include "sq/dist/collective.hpp"
#include "sq/dist/device_collective.hpp"

namespace sq::dist {

// Forward (training): two all-reduces per layer (sum x, then sum (x - mean)^2, as the twin's two-pass variance).
void sync_batchnorm_forward_train(Collective& world, float* y, float* save_mean, float* save_invstd,
                                  float* running_mean, float* running_var, const float* x, const float* gamma,
                                  const float* beta, std::int64_t n, std::int64_t c, std::int64_t hw, float momentum,
                                  float eps);

// Backward: dx from the global sums (one all-reduce of both); dgamma / dbeta are this rank's own sums, which the
// gradient all-reduce then averages (the local loss is a mean over B, the global one over N * B).
void sync_batchnorm_backward(Collective& world, float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                             const float* save_mean, const float* save_invstd, const float* gamma, std::int64_t n,
                             std::int64_t c, std::int64_t hw);

// GPU ranks (CUDA builds): the same, three all-reduces per layer and step on `stream`.
void sync_batchnorm_forward_train(DeviceCollective& world, StreamHandle stream, double* sums, float* partials,
                                  int slices, float* y, float* save_mean, float* save_invstd, float* running_mean,
                                  float* running_var, const float* x, const float* gamma, const float* beta,
                                  std::int64_t n, std::int64_t c, std::int64_t hw, float momentum, float eps);
void sync_batchnorm_backward(DeviceCollective& world, StreamHandle stream, double* sums, float* partials, int slices,
                             float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                             const float* save_mean, const float* save_invstd, const float* gamma, std::int64_t n,
                             std::int64_t c, std::int64_t hw);

}  // namespace sq::dist
