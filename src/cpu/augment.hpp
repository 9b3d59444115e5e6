// Host twin of kernels/augment.cuh: batch building (gather + augment + normalise) on the CPU.
#pragma once

#include <cstdint>

#include "sq/detail/augment.hpp"

namespace sq::cpu {

// Same contract as sq::cuda::augment_batch, on host memory.
void augment_batch(float* images, std::int32_t* labels, const std::uint8_t* dataset_images,
                   const std::int32_t* dataset_labels, const std::int32_t* order, std::int64_t first, int batch,
                   const detail::AugmentGeometry& geometry, const detail::PixelNormalization& normalization,
                   std::uint64_t seed, std::uint64_t epoch);

}  // namespace sq::cpu
