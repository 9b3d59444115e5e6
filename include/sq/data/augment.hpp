// Augmentation options (pad, random crop, horizontal flip) and normalisation statistics, the per-epoch order of
// samples, and the presets for CIFAR and Fashion-MNIST. Batches are built by sq::data::BatchLoader.
#pragma once

#include <cstdint>
#include <vector>

#include "sq/data/dataset.hpp"
#include "sq/detail/augment.hpp"

namespace sq::data {

// How a [C, H, W] image becomes a [C, out_height, out_width] sample: zero-pad by `pad` on every side, then take an
// out_height x out_width window, at a random offset (crop) or centred (no crop), then mirror it with probability 1/2
// (flip). The draws are functions of (seed, epoch, sample index): see sq/detail/augment.hpp.
struct AugmentOptions {
  int pad = 0;
  bool crop = false;
  bool flip = false;
  int out_height = 32;
  int out_width = 32;
};

// CIFAR training: 4-pixel zero padding, random 32x32 crop, horizontal flip. Evaluation: the image as it is.
AugmentOptions cifar_augmentation(bool train);
// Fashion-MNIST: 28x28 padded to 32x32 (2 zero pixels on each side). With crop: padded by 6 and a random 32x32
// window taken (a shift of up to 4 pixels around the centre, as CIFAR's); flip mirrors. Both off by default.
AugmentOptions fashion_mnist_augmentation(bool crop = false, bool flip = false);

// The index math for a data set's images under `options` (checks that the window fits when cropping).
detail::AugmentGeometry augment_geometry(int channels, int height, int width, const AugmentOptions& options);

// Per-channel mean and standard deviation (population, over all pixels of all images) in units of pixel/255.
struct Normalization {
  std::vector<float> mean, stddev;
};
// From a training set (exact integer sums, so the result does not depend on summation order).
Normalization compute_normalization(const Dataset& train);
detail::PixelNormalization pixel_normalization(const Normalization& normalization, int channels);

// The order of samples in epoch `epoch`: a Fisher-Yates shuffle of 0..n-1 driven by Philox draws of
// (seed, epoch) (computed on the host once per epoch, outside the training steps). Same inputs, same order.
std::vector<std::int32_t> epoch_permutation(std::int64_t n, std::uint64_t seed, std::uint64_t epoch);

}  // namespace sq::data
