// Augmentation presets and geometry, normalisation statistics of a training set, and the per-epoch sample order.
#include "sq/data/augment.hpp"

#include <cmath>
#include <cstdint>
#include <utility>

namespace sq::data {

AugmentOptions cifar_augmentation(bool train) {
  AugmentOptions options;
  if (train) {
    options.pad = 4;
    options.crop = true;
    options.flip = true;
  }
  return options;
}

AugmentOptions fashion_mnist_augmentation(bool crop, bool flip) {
  AugmentOptions options;
  options.pad = crop ? 6 : 2;
  options.crop = crop;
  options.flip = flip;
  return options;
}

detail::AugmentGeometry augment_geometry(int channels, int height, int width, const AugmentOptions& options) {
  SQ_CHECK(channels >= 1 && channels <= detail::kAugmentMaxChannels,
           "augmentation handles 1.." << detail::kAugmentMaxChannels << " channels, the data set has " << channels);
  SQ_CHECK(height > 0 && width > 0 && options.out_height > 0 && options.out_width > 0 && options.pad >= 0,
           "augmentation: bad sizes (image " << height << "x" << width << ", output " << options.out_height << "x"
                                             << options.out_width << ", pad " << options.pad << ")");
  const int padded_h = height + 2 * options.pad, padded_w = width + 2 * options.pad;
  detail::AugmentGeometry g{};
  g.channels = channels;
  g.in_height = height;
  g.in_width = width;
  g.out_height = options.out_height;
  g.out_width = options.out_width;
  g.flip = options.flip ? 1 : 0;
  if (options.crop) {
    SQ_CHECK(padded_h >= options.out_height && padded_w >= options.out_width,
             "random crop of " << options.out_height << "x" << options.out_width << " does not fit the " << padded_h
                               << "x" << padded_w << " padded image: raise pad");
    g.range_y = padded_h - options.out_height;
    g.range_x = padded_w - options.out_width;
    g.shift_y = -options.pad;
    g.shift_x = -options.pad;
  } else {
    // Centred window; floor division so a larger output centres a smaller image (28 in 32: shift -2).
    const auto floor_half = [](int v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); };
    g.shift_y = floor_half(padded_h - options.out_height) - options.pad;
    g.shift_x = floor_half(padded_w - options.out_width) - options.pad;
  }
  return g;
}

Normalization compute_normalization(const Dataset& train) {
  SQ_CHECK(train.images.ndim() == 4 && train.images.dtype() == DType::u8 && train.images.device().is_cpu(),
           "compute_normalization: " << train.name << " images must be u8 [N, C, H, W] on the host");
  const std::int64_t n = train.size(), c = train.channels(), plane = train.height() * train.width();
  SQ_CHECK(n > 0, "compute_normalization: " << train.name << " is empty");
  const std::uint8_t* px = train.images.data<std::uint8_t>();
  Normalization out;
  for (std::int64_t ch = 0; ch < c; ++ch) {
    std::uint64_t sum = 0, sum_sq = 0;  // exact: at most 2^16 * 2^40 pixels before overflow
    for (std::int64_t i = 0; i < n; ++i) {
      const std::uint8_t* p = px + (i * c + ch) * plane;
      for (std::int64_t k = 0; k < plane; ++k) {
        sum += p[k];
        sum_sq += static_cast<std::uint64_t>(p[k]) * p[k];
      }
    }
    const double count = static_cast<double>(n * plane);
    const double mean = static_cast<double>(sum) / count;
    const double var = static_cast<double>(sum_sq) / count - mean * mean;
    SQ_CHECK(var > 0, "compute_normalization: channel " << ch << " of " << train.name
                                                        << " is constant (standard deviation 0): cannot normalise");
    out.mean.push_back(static_cast<float>(mean / 255.0));
    out.stddev.push_back(static_cast<float>(std::sqrt(var) / 255.0));
  }
  return out;
}

detail::PixelNormalization pixel_normalization(const Normalization& normalization, int channels) {
  SQ_CHECK(static_cast<int>(normalization.mean.size()) == channels &&
               static_cast<int>(normalization.stddev.size()) == channels,
           "normalisation has " << normalization.mean.size() << " means and " << normalization.stddev.size()
                                << " standard deviations for " << channels << " channels");
  SQ_CHECK(channels <= detail::kAugmentMaxChannels,
           "normalisation handles up to " << detail::kAugmentMaxChannels << " channels");
  detail::PixelNormalization out{};
  for (int c = 0; c < detail::kAugmentMaxChannels; ++c) {
    out.mean[c] = c < channels ? normalization.mean[c] : 0.0f;
    out.stddev[c] = c < channels ? normalization.stddev[c] : 1.0f;
    SQ_CHECK(out.stddev[c] > 0 && std::isfinite(out.stddev[c]) && std::isfinite(out.mean[c]),
             "normalisation of channel " << c << ": mean " << out.mean[c] << ", stddev " << out.stddev[c]
                                         << " (stddev must be positive and finite)");
  }
  return out;
}

std::vector<std::int32_t> epoch_permutation(std::int64_t n, std::uint64_t seed, std::uint64_t epoch) {
  SQ_CHECK(n >= 0 && n <= INT32_MAX, "epoch_permutation: " << n << " samples do not fit int32 indices");
  std::vector<std::int32_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) order[i] = static_cast<std::int32_t>(i);
  const std::uint64_t subsequence = detail::shuffle_subsequence(epoch);
  for (std::int64_t i = n - 1; i > 0; --i) {
    // j uniform in [0, i] from the full 32-bit Philox word (multiply-shift): a float uniform's 24-bit mantissa would
    // bias a 60000-way choice by ~0.4%; the word's bias is below (i + 1) / 2^32.
    const std::uint64_t position = static_cast<std::uint64_t>(i);
    const PhiloxCounter block = philox4x32_10(philox_counter_at(subsequence, position / 4), philox_key(seed));
    const std::uint32_t words[4] = {block.x, block.y, block.z, block.w};
    const std::uint64_t j =
        (static_cast<std::uint64_t>(words[position & 3u]) * static_cast<std::uint64_t>(i + 1)) >> 32;
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

}  // namespace sq::data
