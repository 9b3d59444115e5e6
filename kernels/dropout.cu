// Inverted dropout. Element i keeps iff philox_uniform_at(seed, dropout_subsequence(layer, step), i) > p; a thread
// draws one Philox block and uses its four words for elements 4t..4t+3, which is exactly what the host twin's
// per-element philox_uniform_at returns.
#include "dropout.cuh"
#include "launch.cuh"
#include "sq/core/cuda_check.hpp"
#include "sq/core/philox.hpp"
#include "sq/detail/dropout_math.hpp"

namespace sq::gpu {

// kernels

namespace {
__global__ void dropout_forward_kernel(float* y, std::uint8_t* mask, const float* x, std::int64_t n, float p,
                                       float scale, std::uint64_t seed, std::uint64_t layer_id, std::uint64_t step,
                                       const std::uint64_t* step_ptr) {
  const std::uint64_t subsequence = sq::detail::dropout_subsequence(layer_id, step_ptr ? *step_ptr : step);
  const std::int64_t blocks = (n + 3) / 4;
  for (std::int64_t t = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; t < blocks;
       t += std::int64_t(gridDim.x) * blockDim.x) {
    const PhiloxCounter r =
        philox4x32_10(philox_counter_at(subsequence, static_cast<std::uint64_t>(t)), philox_key(seed));
    const std::uint32_t words[4] = {r.x, r.y, r.z, r.w};
    for (int lane = 0; lane < 4; ++lane) {
      const std::int64_t i = 4 * t + lane;
      if (i >= n) break;
      const bool keep = sq::detail::dropout_keep(philox_u32_to_uniform(words[lane]), p);
      mask[i] = keep ? 1 : 0;
      y[i] = keep ? x[i] * scale : 0.f;
    }
  }
}

__global__ void dropout_backward_kernel(float* dx, const float* dy, const std::uint8_t* mask, std::int64_t n,
                                        float scale) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    dx[i] = mask[i] ? dy[i] * scale : 0.f;
  }
}
}  // namespace

// launchers

void dropout_forward(float* y, std::uint8_t* mask, const float* x, std::int64_t n, float p, float scale,
                     std::uint64_t seed, std::uint64_t layer_id, std::uint64_t step, const std::uint64_t* step_ptr,
                     cudaStream_t stream) {
  if (n == 0) return;
  SQ_LAUNCH(dropout_forward_kernel, elementwise_blocks((n + 3) / 4), kElementwiseThreads, 0, stream, y, mask, x, n, p,
            scale, seed, layer_id, step, step_ptr);
  SQ_CUDA_CHECK_LAUNCH();
}

void dropout_backward(float* dx, const float* dy, const std::uint8_t* mask, std::int64_t n, float scale,
                      cudaStream_t stream) {
  if (n == 0) return;
  SQ_LAUNCH(dropout_backward_kernel, elementwise_blocks(n), kElementwiseThreads, 0, stream, dx, dy, mask, n, scale);
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace sq::gpu
