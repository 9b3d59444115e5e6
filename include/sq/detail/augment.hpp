// Per-pixel math of batch building (crop/pad/flip index math, normalisation, the per-sample random draws), shared
// by the CUDA kernel (kernels/augment.cu) and its host twin (src/cpu/augment.cpp) so both give the same bits.
#pragma once

#include <cstdint>

#include "sq/core/philox.hpp"
#include "sq/detail/host_device.hpp"

namespace sq::detail {

constexpr int kAugmentMaxChannels = 4;

// Data draws use Philox subsequences tagged 0xDA7A in their top 16 bits, so they never reuse a counter of the SQ
// draws (keyed by step/layer) under the same run seed. Bit 0 tells augmentation (0) from shuffling (1).
constexpr std::uint64_t kDataStreamTag = 0xDA7Aull << 48;
SQ_HOST_DEVICE inline std::uint64_t augment_subsequence(std::uint64_t epoch) {
  return kDataStreamTag | (epoch << 1);
}
SQ_HOST_DEVICE inline std::uint64_t shuffle_subsequence(std::uint64_t epoch) {
  return kDataStreamTag | (epoch << 1) | 1u;
}

// Where an output pixel (c, y, x) of a [C, out_height, out_width] sample reads its source pixel:
//   x' = flip ? out_width - 1 - x : x;  source (c, y + shift_y + dy, x' + shift_x + dx), zero outside the image.
// shift = (centred crop offset or 0) - pad; dy in [0, range_y], dx in [0, range_x] drawn per sample.
// CIFAR training: pad 4 -> shift -4, range 8 (a random 32x32 crop of the zero-padded 40x40 image).
// Fashion-MNIST: 28x28 in a 32x32 output -> shift -2, range 0 (centred, 2 zero pixels on each side).
struct AugmentGeometry {
  int channels, in_height, in_width, out_height, out_width;
  int shift_y, shift_x;
  int range_y, range_x;
  int flip;  // 1: mirror horizontally with probability 1/2
};

// out = (pixel / 255 - mean[c]) / stddev[c]; padding pixels are 0 before normalisation (as torchvision's pad).
struct PixelNormalization {
  float mean[kAugmentMaxChannels];
  float stddev[kAugmentMaxChannels];
};

struct AugmentDraw {
  int dy, dx, flip;
};

// A uniform in (0, 1] to an index in [0, n): exact IEEE float product on both devices, clamped for u = 1.
SQ_HOST_DEVICE inline int uniform_to_index(float u, int n) {
  const int k = static_cast<int>(u * static_cast<float>(n));
  return k < n ? k : n - 1;
}

// The draws of one sample in one epoch: a function of (seed, epoch, sample index in the data set) only, so a sample
// is augmented the same way whatever batch or position it lands in. One Philox block: words 0, 1, 2 of block
// `sample` in the epoch's augmentation subsequence.
SQ_HOST_DEVICE inline AugmentDraw augment_draw(const AugmentGeometry& g, std::uint64_t seed, std::uint64_t epoch,
                                               std::int64_t sample) {
  const std::uint64_t subsequence = augment_subsequence(epoch);
  const std::uint64_t offset = static_cast<std::uint64_t>(sample) * 4u;
  AugmentDraw d{0, 0, 0};
  if (g.range_y > 0) d.dy = uniform_to_index(philox_uniform_at(seed, subsequence, offset + 0), g.range_y + 1);
  if (g.range_x > 0) d.dx = uniform_to_index(philox_uniform_at(seed, subsequence, offset + 1), g.range_x + 1);
  if (g.flip) d.flip = philox_uniform_at(seed, subsequence, offset + 2) <= 0.5f ? 1 : 0;
  return d;
}

// Offset of the source pixel inside one sample's [C, H, W] image, or -1 for a padding pixel.
SQ_HOST_DEVICE inline std::int64_t augment_source_offset(const AugmentGeometry& g, const AugmentDraw& d, int c, int y,
                                                         int x) {
  const int xs = d.flip ? g.out_width - 1 - x : x;
  const int sy = y + g.shift_y + d.dy;
  const int sx = xs + g.shift_x + d.dx;
  if (sy < 0 || sy >= g.in_height || sx < 0 || sx >= g.in_width) return -1;
  return (static_cast<std::int64_t>(c) * g.in_height + sy) * g.in_width + sx;
}

// IEEE division on both sides (kernels build with --fmad=false and precise division): identical floats.
SQ_HOST_DEVICE inline float normalize_pixel(int value, float mean, float stddev) {
  return (static_cast<float>(value) / 255.0f - mean) / stddev;
}

// One output element of a batch: gather, augment, normalise.
SQ_HOST_DEVICE inline float augment_pixel(const std::uint8_t* sample_image, const AugmentGeometry& g,
                                          const AugmentDraw& d, const PixelNormalization& norm, int c, int y, int x) {
  const std::int64_t source = augment_source_offset(g, d, c, y, x);
  const int value = source < 0 ? 0 : sample_image[source];
  return normalize_pixel(value, norm.mean[c], norm.stddev[c]);
}

}  // namespace sq::detail
