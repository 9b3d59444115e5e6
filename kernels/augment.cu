// Batch building on the device: one thread per output element of f32 [B, C, OH, OW] gathers its sample's pixel
// from the resident u8 data set through the crop/flip index math, normalises it, and (for element 0 of each row)
// copies the label. Per-sample draws come from (seed, epoch, sample) via sq/detail/augment.hpp, as in the twin.
#include "augment.cuh"
#include "launch.cuh"
#include "sq/core/cuda_check.hpp"

namespace sq::cuda {

// kernels
namespace {
constexpr int kThreads = 256;

__global__ void augment_batch_kernel(float* __restrict__ images, std::int32_t* __restrict__ labels,
                                     const std::uint8_t* __restrict__ dataset_images,
                                     const std::int32_t* __restrict__ dataset_labels,
                                     const std::int32_t* __restrict__ order, std::int64_t first, int batch,
                                     detail::AugmentGeometry g, detail::PixelNormalization norm, std::uint64_t seed,
                                     std::uint64_t epoch) {
  const std::int64_t plane = static_cast<std::int64_t>(g.out_height) * g.out_width;
  const std::int64_t per_sample = plane * g.channels;
  const std::int64_t total = per_sample * batch;
  const std::int64_t sample_bytes = static_cast<std::int64_t>(g.channels) * g.in_height * g.in_width;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int b = static_cast<int>(i / per_sample);
    const std::int64_t within = i - b * per_sample;
    const int c = static_cast<int>(within / plane);
    const int yx = static_cast<int>(within - c * plane);
    const int y = yx / g.out_width, x = yx - y * g.out_width;
    const std::int64_t sample = order ? order[first + b] : first + b;
    const detail::AugmentDraw draw = detail::augment_draw(g, seed, epoch, sample);
    images[i] = detail::augment_pixel(dataset_images + sample * sample_bytes, g, draw, norm, c, y, x);
    if (within == 0) labels[b] = dataset_labels[sample];
  }
}
}  // namespace

// launchers
void augment_batch(float* images, std::int32_t* labels, const std::uint8_t* dataset_images,
                   const std::int32_t* dataset_labels, const std::int32_t* order, std::int64_t first, int batch,
                   const detail::AugmentGeometry& geometry, const detail::PixelNormalization& normalization,
                   std::uint64_t seed, std::uint64_t epoch, cudaStream_t stream) {
  if (batch <= 0) return;
  const std::int64_t total =
      static_cast<std::int64_t>(batch) * geometry.channels * geometry.out_height * geometry.out_width;
  const int blocks =
      static_cast<int>((total + kThreads - 1) / kThreads < 65535 ? (total + kThreads - 1) / kThreads : 65535);
  SQ_LAUNCH(augment_batch_kernel, blocks, kThreads, 0, stream, images, labels, dataset_images, dataset_labels, order,
            first, batch, geometry, normalization, seed, epoch);
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace sq::cuda
