// Augmentation index math and draws: known answers for pad/crop/flip (CIFAR) and centring (Fashion-MNIST), the
// draws' distribution and reproducibility, the epoch permutation, and normalisation statistics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "cpu/augment.hpp"
#include "sq/data/augment.hpp"

namespace {

using sq::detail::AugmentDraw;
using sq::detail::AugmentGeometry;

// A nonzero byte that varies with the pixel's position, so a wrong source pixel shows.
std::uint8_t marker(int c, int y, int x) {
  return static_cast<std::uint8_t>(1 + (c * 1031 + y * 37 + x * 5) % 255);
}

TEST(Augment, PresetsGiveTheExpectedGeometry) {
  const AugmentGeometry cifar = sq::data::augment_geometry(3, 32, 32, sq::data::cifar_augmentation(true));
  EXPECT_EQ(cifar.shift_y, -4);
  EXPECT_EQ(cifar.shift_x, -4);
  EXPECT_EQ(cifar.range_y, 8);
  EXPECT_EQ(cifar.range_x, 8);
  EXPECT_EQ(cifar.flip, 1);
  const AugmentGeometry cifar_eval = sq::data::augment_geometry(3, 32, 32, sq::data::cifar_augmentation(false));
  EXPECT_EQ(cifar_eval.shift_y, 0);
  EXPECT_EQ(cifar_eval.range_y, 0);
  EXPECT_EQ(cifar_eval.flip, 0);
  const AugmentGeometry fashion = sq::data::augment_geometry(1, 28, 28, sq::data::fashion_mnist_augmentation());
  EXPECT_EQ(fashion.shift_y, -2);
  EXPECT_EQ(fashion.shift_x, -2);
  EXPECT_EQ(fashion.range_y, 0);
  EXPECT_EQ(fashion.flip, 0);
  const AugmentGeometry fashion_aug =
      sq::data::augment_geometry(1, 28, 28, sq::data::fashion_mnist_augmentation(true, true));
  EXPECT_EQ(fashion_aug.shift_y, -6);
  EXPECT_EQ(fashion_aug.range_y, 8);  // offsets 0..8: shifts of -6..+2, centred on -2 (the unaugmented placement)
  EXPECT_EQ(fashion_aug.flip, 1);
  sq::data::AugmentOptions too_small;
  too_small.crop = true;
  EXPECT_THROW(sq::data::augment_geometry(1, 28, 28, too_small), sq::Error);
  EXPECT_THROW(sq::data::augment_geometry(5, 32, 32, {}), sq::Error);
}

TEST(Augment, CifarCropAndFlipKnownAnswers) {
  const AugmentGeometry g = sq::data::augment_geometry(3, 32, 32, sq::data::cifar_augmentation(true));
  // Top-left crop of the padded 40x40 image: output (4, 4) is source (0, 0); the first 4 rows/cols are padding.
  const AugmentDraw top_left{0, 0, 0};
  EXPECT_EQ(sq::detail::augment_source_offset(g, top_left, 0, 3, 10), -1);
  EXPECT_EQ(sq::detail::augment_source_offset(g, top_left, 0, 10, 3), -1);
  EXPECT_EQ(sq::detail::augment_source_offset(g, top_left, 0, 4, 4), 0);
  EXPECT_EQ(sq::detail::augment_source_offset(g, top_left, 2, 31, 31), 2 * 1024 + 27 * 32 + 27);
  // Bottom-right crop: output (y, x) is source (y + 4, x + 4); rows/cols 28..31 are padding.
  const AugmentDraw bottom_right{8, 8, 0};
  EXPECT_EQ(sq::detail::augment_source_offset(g, bottom_right, 1, 0, 0), 1024 + 4 * 32 + 4);
  EXPECT_EQ(sq::detail::augment_source_offset(g, bottom_right, 1, 27, 27), 1024 + 31 * 32 + 31);
  EXPECT_EQ(sq::detail::augment_source_offset(g, bottom_right, 1, 28, 0), -1);
  // Centre crop + flip: the image mirrored, nothing padded.
  const AugmentDraw centre_flip{4, 4, 1};
  for (int y = 0; y < 32; y += 5) {
    for (int x = 0; x < 32; ++x) EXPECT_EQ(sq::detail::augment_source_offset(g, centre_flip, 0, y, x), y * 32 + 31 - x);
  }
  // Flip after a crop shifted right by 3 (dx = 7): output x reads source 31 - x + 3, padding for x < 3.
  const AugmentDraw shifted_flip{4, 7, 1};
  EXPECT_EQ(sq::detail::augment_source_offset(g, shifted_flip, 0, 0, 0), -1);
  EXPECT_EQ(sq::detail::augment_source_offset(g, shifted_flip, 0, 0, 3), 31);
  EXPECT_EQ(sq::detail::augment_source_offset(g, shifted_flip, 0, 0, 31), 3);
}

// The twin against a naive construction: pad into a 40x40 canvas, cut the window, mirror it, normalise.
TEST(Augment, BatchTwinMatchesNaivePadCropFlip) {
  const AugmentGeometry g = sq::data::augment_geometry(3, 32, 32, sq::data::cifar_augmentation(true));
  const int n = 64;
  std::vector<std::uint8_t> images(static_cast<std::size_t>(n) * 3072);
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) images[i * 3072 + c * 1024 + y * 32 + x] = marker(c, y, x) ^ (i * 29);
  std::vector<std::int32_t> labels(n);
  std::iota(labels.begin(), labels.end(), 0);
  const sq::detail::PixelNormalization norm =
      sq::data::pixel_normalization({{0.5f, 0.25f, 0.125f}, {0.2f, 0.3f, 0.4f}}, 3);
  const std::vector<std::int32_t> order = {5, 63, 0, 17, 2, 9, 40, 41, 33, 12, 8, 1, 60, 61, 30, 31};
  const int batch = static_cast<int>(order.size());
  std::vector<float> out(batch * 3072);
  std::vector<std::int32_t> out_labels(batch);
  const std::uint64_t seed = 1234, epoch = 7;
  sq::cpu::augment_batch(out.data(), out_labels.data(), images.data(), labels.data(), order.data(), 0, batch, g, norm,
                         seed, epoch);
  std::set<int> flips, offsets;
  for (int b = 0; b < batch; ++b) {
    const int s = order[b];
    EXPECT_EQ(out_labels[b], s);
    const AugmentDraw d = sq::detail::augment_draw(g, seed, epoch, s);
    flips.insert(d.flip);
    offsets.insert(d.dy * 9 + d.dx);
    std::vector<int> canvas(3 * 40 * 40, 0);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) canvas[(c * 40 + y + 4) * 40 + x + 4] = images[s * 3072 + c * 1024 + y * 32 + x];
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 32; ++y) {
        for (int x = 0; x < 32; ++x) {
          const int cx = d.flip ? 31 - x : x;
          const int v = canvas[(c * 40 + y + d.dy) * 40 + cx + d.dx];
          const float expected = (static_cast<float>(v) / 255.0f - norm.mean[c]) / norm.stddev[c];
          ASSERT_EQ(out[b * 3072 + c * 1024 + y * 32 + x], expected)
              << "b " << b << " c " << c << " y " << y << " x " << x;
        }
      }
    }
  }
  EXPECT_EQ(flips.size(), 2u);    // both flipped and unflipped samples were compared
  EXPECT_GT(offsets.size(), 8u);  // and many crop offsets
}

TEST(Augment, FashionMnistIsCentredWithTwoPixelsOfPadding) {
  const AugmentGeometry g = sq::data::augment_geometry(1, 28, 28, sq::data::fashion_mnist_augmentation());
  std::vector<std::uint8_t> image(28 * 28);
  for (int i = 0; i < 28 * 28; ++i) image[i] = static_cast<std::uint8_t>(1 + i % 250);
  const std::vector<std::int32_t> label = {3};
  std::vector<float> out(32 * 32, -1.f);
  std::int32_t out_label = -1;
  const auto norm = sq::data::pixel_normalization({{0.f}, {1.f}}, 1);
  sq::cpu::augment_batch(out.data(), &out_label, image.data(), label.data(), nullptr, 0, 1, g, norm, 99, 3);
  EXPECT_EQ(out_label, 3);
  for (int y = 0; y < 32; ++y) {
    for (int x = 0; x < 32; ++x) {
      const bool inside = y >= 2 && y < 30 && x >= 2 && x < 30;
      const float expected = inside ? static_cast<float>(image[(y - 2) * 28 + x - 2]) / 255.0f : 0.0f;
      ASSERT_EQ(out[y * 32 + x], expected) << y << "," << x;
    }
  }
}

TEST(Augment, DrawsAreReproducibleAndCoverEveryOffset) {
  const AugmentGeometry g = sq::data::augment_geometry(3, 32, 32, sq::data::cifar_augmentation(true));
  const int n = 45000;
  std::vector<int> dy_counts(9, 0), dx_counts(9, 0);
  int flips = 0, changed_by_epoch = 0, changed_by_seed = 0;
  for (int s = 0; s < n; ++s) {
    const AugmentDraw d = sq::detail::augment_draw(g, 42, 0, s);
    const AugmentDraw again = sq::detail::augment_draw(g, 42, 0, s);
    ASSERT_TRUE(d.dy == again.dy && d.dx == again.dx && d.flip == again.flip);
    ASSERT_TRUE(d.dy >= 0 && d.dy <= 8 && d.dx >= 0 && d.dx <= 8);
    ++dy_counts[d.dy];
    ++dx_counts[d.dx];
    flips += d.flip;
    const AugmentDraw next_epoch = sq::detail::augment_draw(g, 42, 1, s);
    const AugmentDraw other_seed = sq::detail::augment_draw(g, 43, 0, s);
    changed_by_epoch += next_epoch.dy != d.dy || next_epoch.dx != d.dx || next_epoch.flip != d.flip;
    changed_by_seed += other_seed.dy != d.dy || other_seed.dx != d.dx || other_seed.flip != d.flip;
  }
  // Each offset has probability 1/9: 5000 expected, sd ~ 66.7; 6 sd bounds keep the test deterministic-safe.
  for (int k = 0; k < 9; ++k) {
    EXPECT_NEAR(dy_counts[k], n / 9, 400) << "dy " << k;
    EXPECT_NEAR(dx_counts[k], n / 9, 400) << "dx " << k;
  }
  EXPECT_NEAR(flips, n / 2, 650);  // sd ~ 106
  // Same (dy, dx, flip) by chance has probability 1/162: nearly every sample changes.
  EXPECT_GT(changed_by_epoch, n * 0.98);
  EXPECT_GT(changed_by_seed, n * 0.98);
  // Without crop and flip nothing is drawn.
  const AugmentGeometry fixed = sq::data::augment_geometry(1, 28, 28, sq::data::fashion_mnist_augmentation());
  const AugmentDraw none = sq::detail::augment_draw(fixed, 42, 5, 123);
  EXPECT_TRUE(none.dy == 0 && none.dx == 0 && none.flip == 0);
}

TEST(Augment, EpochPermutationIsASeededShuffle) {
  const auto p0 = sq::data::epoch_permutation(50000, 7, 0);
  std::vector<std::int32_t> sorted = p0;
  std::sort(sorted.begin(), sorted.end());
  for (std::int32_t i = 0; i < 50000; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_EQ(sq::data::epoch_permutation(50000, 7, 0), p0);
  const auto p1 = sq::data::epoch_permutation(50000, 7, 1);
  const auto q0 = sq::data::epoch_permutation(50000, 8, 0);
  int same_epoch = 0, same_seed = 0, fixed_points = 0;
  for (std::size_t i = 0; i < p0.size(); ++i) {
    same_epoch += p0[i] == p1[i];
    same_seed += p0[i] == q0[i];
    fixed_points += p0[i] == static_cast<std::int32_t>(i);
  }
  EXPECT_LT(same_epoch, 20);  // a random pair of permutations agrees in ~1 place
  EXPECT_LT(same_seed, 20);
  EXPECT_LT(fixed_points, 20);
  EXPECT_TRUE(sq::data::epoch_permutation(0, 1, 0).empty());
  EXPECT_EQ(sq::data::epoch_permutation(1, 1, 0), std::vector<std::int32_t>{0});
  // Exact distribution for n = 3: each of the 6 orders equally likely over many epochs.
  std::map<std::vector<std::int32_t>, int> counts;
  const int epochs = 60000;
  for (int e = 0; e < epochs; ++e) ++counts[sq::data::epoch_permutation(3, 11, e)];
  EXPECT_EQ(counts.size(), 6u);
  for (const auto& entry : counts) EXPECT_NEAR(entry.second, epochs / 6, 600);  // sd ~ 91
}

TEST(Augment, NormalizationMatchesNaiveStatistics) {
  sq::data::Dataset data;
  const int n = 37, c = 3, h = 5, w = 7;
  data.images = sq::Tensor({n, c, h, w}, sq::DType::u8);
  data.labels = sq::Tensor::zeros({n}, sq::DType::i32);
  data.classes = 1;
  data.name = "stats";
  std::uint8_t* px = data.images.data<std::uint8_t>();
  for (std::int64_t i = 0; i < data.images.numel(); ++i) px[i] = static_cast<std::uint8_t>((i * 7919 + i / 3) % 256);
  const sq::data::Normalization norm = sq::data::compute_normalization(data);
  ASSERT_EQ(norm.mean.size(), 3u);
  for (int ch = 0; ch < c; ++ch) {
    double sum = 0;
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < h * w; ++k) sum += px[(i * c + ch) * h * w + k] / 255.0;
    const double mean = sum / (n * h * w);
    double sq_dev = 0;
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < h * w; ++k) sq_dev += std::pow(px[(i * c + ch) * h * w + k] / 255.0 - mean, 2);
    EXPECT_NEAR(norm.mean[ch], mean, 1e-6) << ch;
    EXPECT_NEAR(norm.stddev[ch], std::sqrt(sq_dev / (n * h * w)), 1e-6) << ch;
  }
  // A constant channel cannot be normalised.
  std::fill(px, px + data.images.numel(), 9);
  EXPECT_THROW(sq::data::compute_normalization(data), sq::Error);
}

}  // namespace
