// Softmax cross-entropy + accuracy + dL/dlogits in one launch of one block: a thread per row (batches are a few
// hundred rows), then a fixed-order reduction, so the device scalars need no atomics and no host sync.
#include <cmath>

#include "launch.cuh"
#include "loss.cuh"
#include "sq/core/cuda_check.hpp"
#include "sq/detail/softmax_xent.hpp"

namespace sq::gpu {

// kernels

namespace {
constexpr int kLossThreads = 256;

__global__ void softmax_xent_forward_kernel(float* loss, std::int32_t* correct, float* dlogits, const float* logits,
                                            const std::int32_t* labels, int rows, int classes) {
  __shared__ double loss_sum[kLossThreads];
  __shared__ int hit_sum[kLossThreads];
  double my_loss = 0.0;
  int my_hits = 0;
  const float inv_rows = 1.f / static_cast<float>(rows);
  for (int r = threadIdx.x; r < rows; r += blockDim.x) {
    bool hit = false;
    my_loss += sq::detail::softmax_xent_row(logits + static_cast<std::int64_t>(r) * classes,
                                            dlogits + static_cast<std::int64_t>(r) * classes, labels[r], classes,
                                            inv_rows, &hit);
    my_hits += hit ? 1 : 0;
  }
  loss_sum[threadIdx.x] = my_loss;
  hit_sum[threadIdx.x] = my_hits;
  block_reduce_sum(loss_sum);
  block_reduce_sum(hit_sum);
  if (threadIdx.x == 0) {
    loss[0] = static_cast<float>(loss_sum[0] / rows);
    correct[0] = hit_sum[0];
  }
}
}  // namespace

// launchers

void softmax_xent_forward(float* loss, std::int32_t* correct, float* dlogits, const float* logits,
                          const std::int32_t* labels, int rows, int classes, cudaStream_t stream) {
  SQ_LAUNCH(softmax_xent_forward_kernel, 1, kLossThreads, 0, stream, loss, correct, dlogits, logits, labels, rows,
            classes);
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace sq::gpu
