// The transforms against their definitions: random-resized-crop windows (area and ratio ranges, inside the image,
// reproducible from (seed, epoch, sample), different across epochs), the flip draw, the centre crop of resize 256 +
// crop 224, and the resampler (an out x out window is a plain copy; flip mirrors; normalisation per channel).
#include <gtest/gtest.h>

#include <cmath>

#include "sq/data/image_transform.hpp"

namespace {

using sq::data::CropWindow;
using sq::data::ImageTransformOptions;

TEST(ImageTransform, RandomResizedCropStaysInRangeAndIsAFunctionOfSeedEpochSample) {
  const ImageTransformOptions o;
  int fallbacks = 0, flips = 0, differ = 0;
  for (std::int64_t s = 0; s < 2000; ++s) {
    const int width = 200 + static_cast<int>(s % 97), height = 150 + static_cast<int>(s % 61);
    const CropWindow w = sq::data::random_resized_crop(width, height, o, 7, 3, s);
    ASSERT_GE(w.x, 0);
    ASSERT_GE(w.y, 0);
    ASSERT_LE(w.x + w.width, width);
    ASSERT_LE(w.y + w.height, height);
    EXPECT_EQ(w.x, std::floor(w.x));
    const double area = w.width * w.height / (static_cast<double>(width) * height);
    const double ratio = w.width / w.height;
    if (w.width == width && w.height == height) {
      ++fallbacks;
    } else {
      // Rounding to whole pixels moves area and ratio a little beyond the drawn ranges.
      EXPECT_GE(area, 0.08 * 0.9);
      EXPECT_LE(ratio, 4.0 / 3.0 * 1.05);
      EXPECT_GE(ratio, 3.0 / 4.0 / 1.05);
    }
    const CropWindow again = sq::data::random_resized_crop(width, height, o, 7, 3, s);
    EXPECT_EQ(again.x, w.x);
    EXPECT_EQ(again.width, w.width);
    const CropWindow other = sq::data::random_resized_crop(width, height, o, 7, 4, s);
    differ += other.x != w.x || other.width != w.width;
    flips += sq::data::random_flip(7, 3, s);
  }
  EXPECT_LT(fallbacks, 20);
  EXPECT_GT(differ, 1900);
  EXPECT_NEAR(flips, 1000, 120);
}

TEST(ImageTransform, CenterCropIsResize256ThenCrop224) {
  const ImageTransformOptions o;
  const CropWindow w = sq::data::center_crop(512, 384, o);  // short side 384 -> 256: scale 2/3; 224 -> 336 source
  EXPECT_DOUBLE_EQ(w.width, 336);
  EXPECT_DOUBLE_EQ(w.height, 336);
  EXPECT_DOUBLE_EQ(w.x, 88);
  EXPECT_DOUBLE_EQ(w.y, 24);
}

sq::data::RgbImage ramp(int width, int height) {
  sq::data::RgbImage image;
  image.width = width;
  image.height = height;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      image.pixels.push_back(static_cast<std::uint8_t>(x * 7 + y));
      image.pixels.push_back(static_cast<std::uint8_t>(y * 5 + 3 * x));
      image.pixels.push_back(static_cast<std::uint8_t>((x * y) & 255));
    }
  }
  return image;
}

float normalized(int value, const ImageTransformOptions& o, int c) {
  return (static_cast<float>(value) / 255.f - o.mean[c]) / o.stddev[c];
}

TEST(ImageTransform, AWindowOfTheOutputSizeIsACopyAndFlipMirrorsIt) {
  const ImageTransformOptions o;
  const sq::data::RgbImage image = ramp(40, 30);
  const int out = 16;
  const CropWindow window{5, 9, 16, 16};
  std::vector<float> plain(3 * out * out), mirrored(3 * out * out);
  sq::data::resample_normalize(image, window, false, out, o, plain.data());
  sq::data::resample_normalize(image, window, true, out, o, mirrored.data());
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < out; ++y) {
      for (int x = 0; x < out; ++x) {
        const int source = image.pixels[static_cast<std::size_t>(((y + 9) * 40 + (x + 5)) * 3 + c)];
        const std::size_t i = static_cast<std::size_t>((c * out + y) * out + x);
        const std::size_t m = static_cast<std::size_t>((c * out + y) * out + (out - 1 - x));
        ASSERT_NEAR(plain[i], normalized(source, o, c), 1e-5f) << c << " " << y << " " << x;
        ASSERT_EQ(mirrored[m], plain[i]);
      }
    }
  }
}

TEST(ImageTransform, ShrinkingAveragesAConstantToItselfAndStaysInRange) {
  ImageTransformOptions o;
  sq::data::RgbImage flat;
  flat.width = 97;
  flat.height = 61;
  flat.pixels.assign(97 * 61 * 3, 200);
  std::vector<float> out(3 * 24 * 24);
  sq::data::resample_normalize(flat, {3.5, 2.25, 80.0, 50.5}, false, 24, o, out.data());
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 24 * 24; ++i)
      ASSERT_NEAR(out[static_cast<std::size_t>(c * 576 + i)], normalized(200, o, c), 1e-4f);
  }
  // A 2:1 shrink of a ramp: each output is the triangle-weighted mean of its source pixels, inside their range.
  const sq::data::RgbImage r = ramp(64, 64);
  std::vector<float> half(3 * 32 * 32);
  sq::data::resample_normalize(r, {0, 0, 64, 64}, false, 32, o, half.data());
  const float v = half[static_cast<std::size_t>(10 * 32 + 10)] * o.stddev[0] * 255.f + o.mean[0] * 255.f;
  const float lo = static_cast<float>(19 * 7 + 19), hi = static_cast<float>(22 * 7 + 22);
  EXPECT_GE(v, lo);
  EXPECT_LE(v, hi);
}

}  // namespace
