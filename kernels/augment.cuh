// Launcher of batch building: gather samples of the resident uint8 data set, augment, normalise (one launch).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "sq/detail/augment.hpp"

namespace sq::cuda {

// images: f32 [batch, C, out_height, out_width]; labels: i32 [batch]. Row b is data set sample
// s = order ? order[first + b] : first + b, read from dataset_images u8 [N, C, in_height, in_width] and
// dataset_labels i32 [N], augmented with the draws of (seed, epoch, s). All pointers are device memory.
void augment_batch(float* images, std::int32_t* labels, const std::uint8_t* dataset_images,
                   const std::int32_t* dataset_labels, const std::int32_t* order, std::int64_t first, int batch,
                   const detail::AugmentGeometry& geometry, const detail::PixelNormalization& normalization,
                   std::uint64_t seed, std::uint64_t epoch, cudaStream_t stream);

}  // namespace sq::cuda
