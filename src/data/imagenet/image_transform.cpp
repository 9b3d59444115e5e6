// Random-resized-crop, flip and centre-crop windows from Philox draws, and the PIL-style bilinear resampler.
#include "sq/data/image_transform.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "sq/core/error.hpp"
#include "sq/core/philox.hpp"
#include "sq/detail/augment.hpp"

namespace sq::data {
namespace {

// Image-pipeline draws: Philox subsequences tagged 0xDA7B (CIFAR's augmentation uses 0xDA7A), one per epoch; per
// sample 64 words: 4 per RRC try (10 tries), then the flip.
constexpr std::uint64_t kImageStreamTag = 0xDA7Bull << 48;
constexpr std::uint64_t kWordsPerSample = 64;
constexpr std::uint64_t kFlipWord = 48;

float draw(std::uint64_t seed, std::uint64_t epoch, std::int64_t sample, std::uint64_t word) {
  return philox_uniform_at(seed, kImageStreamTag | (epoch & ((1ull << 48) - 1)),
                           static_cast<std::uint64_t>(sample) * kWordsPerSample + word);
}

// Filter taps of one axis: for every output index, the first source index and its normalised weights.
struct Taps {
  std::vector<int> first, count;
  std::vector<float> weights;  // count[i] weights for output i, at stride `width`
  int width = 0;
};

void make_taps(double start, double length, int in_size, int out, Taps& t) {
  const double scale = length / out;
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_scale;  // triangle filter: support 1, widened by the scale when shrinking
  t.width = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.first.assign(static_cast<std::size_t>(out), 0);
  t.count.assign(static_cast<std::size_t>(out), 0);
  t.weights.assign(static_cast<std::size_t>(out) * static_cast<std::size_t>(t.width), 0.f);
  for (int i = 0; i < out; ++i) {
    const double center = start + (i + 0.5) * scale;
    int lo = static_cast<int>(std::floor(center - support + 0.5));
    int hi = static_cast<int>(std::floor(center + support + 0.5));
    lo = std::clamp(lo, 0, in_size - 1);
    hi = std::clamp(hi, lo + 1, in_size);
    hi = std::min(hi, lo + t.width);
    double total = 0;
    float* w = &t.weights[static_cast<std::size_t>(i) * static_cast<std::size_t>(t.width)];
    for (int j = lo; j < hi; ++j) {
      const double x = std::fabs((j + 0.5 - center) / filter_scale);
      const double v = x < 1.0 ? 1.0 - x : 0.0;
      w[j - lo] = static_cast<float>(v);
      total += v;
    }
    if (total <= 0) {  // a window edge between pixels: the nearest pixel
      w[0] = 1.f;
      total = 1;
      hi = lo + 1;
    }
    for (int j = lo; j < hi; ++j) w[j - lo] = static_cast<float>(w[j - lo] / total);
    t.first[static_cast<std::size_t>(i)] = lo;
    t.count[static_cast<std::size_t>(i)] = hi - lo;
  }
}

}  // namespace

CropWindow random_resized_crop(int width, int height, const ImageTransformOptions& o, std::uint64_t seed,
                               std::uint64_t epoch, std::int64_t sample) {
  const double area = static_cast<double>(width) * height;
  const double log_lo = std::log(o.ratio_min), log_hi = std::log(o.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const std::uint64_t w0 = static_cast<std::uint64_t>(attempt) * 4;
    const double target = area * (o.scale_min + (o.scale_max - o.scale_min) * draw(seed, epoch, sample, w0));
    const double aspect = std::exp(log_lo + (log_hi - log_lo) * draw(seed, epoch, sample, w0 + 1));
    const int w = static_cast<int>(std::lround(std::sqrt(target * aspect)));
    const int h = static_cast<int>(std::lround(std::sqrt(target / aspect)));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const int y = detail::uniform_to_index(draw(seed, epoch, sample, w0 + 2), height - h + 1);
      const int x = detail::uniform_to_index(draw(seed, epoch, sample, w0 + 3), width - w + 1);
      return {static_cast<double>(x), static_cast<double>(y), static_cast<double>(w), static_cast<double>(h)};
    }
  }
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < o.ratio_min) {
    h = static_cast<int>(std::lround(w / o.ratio_min));
  } else if (in_ratio > o.ratio_max) {
    w = static_cast<int>(std::lround(h * o.ratio_max));
  }
  return {static_cast<double>((width - w) / 2), static_cast<double>((height - h) / 2), static_cast<double>(w),
          static_cast<double>(h)};
}

bool random_flip(std::uint64_t seed, std::uint64_t epoch, std::int64_t sample) {
  return draw(seed, epoch, sample, kFlipWord) <= 0.5f;
}

CropWindow center_crop(int width, int height, const ImageTransformOptions& o) {
  const double side = std::min(width, height) / o.eval_resize;  // out_size / (out_size * eval_resize) of the short
  const double w = std::min<double>(side, width), h = std::min<double>(side, height);
  return {(width - w) / 2.0, (height - h) / 2.0, w, h};
}

CropWindow sample_window(int width, int height, const ImageTransformOptions& o, std::uint64_t seed, std::uint64_t epoch,
                         std::int64_t sample) {
  return o.train ? random_resized_crop(width, height, o, seed, epoch, sample) : center_crop(width, height, o);
}

void resample_normalize(const RgbImage& image, const CropWindow& window, bool flip, int out,
                        const ImageTransformOptions& o, float* chw) {
  SQ_CHECK(image.width > 0 && image.height > 0 && out > 0, "resample_normalize: empty image or output");
  thread_local Taps tx, ty;
  thread_local std::vector<float> rows;
  make_taps(window.x, window.width, image.width, out, tx);
  make_taps(window.y, window.height, image.height, out, ty);
  const int y_lo = ty.first.front();
  int y_hi = y_lo;
  for (int i = 0; i < out; ++i)
    y_hi = std::max(y_hi, ty.first[static_cast<std::size_t>(i)] + ty.count[static_cast<std::size_t>(i)]);
  // Horizontal pass over the source rows the vertical taps use: rows[r][x][c].
  const std::size_t row_floats = static_cast<std::size_t>(out) * 3;
  rows.resize(static_cast<std::size_t>(y_hi - y_lo) * row_floats);
  for (int y = y_lo; y < y_hi; ++y) {
    const std::uint8_t* src = &image.pixels[static_cast<std::size_t>(y) * static_cast<std::size_t>(image.width) * 3];
    float* dst = &rows[static_cast<std::size_t>(y - y_lo) * row_floats];
    for (int x = 0; x < out; ++x) {
      const int first = tx.first[static_cast<std::size_t>(x)], n = tx.count[static_cast<std::size_t>(x)];
      const float* w = &tx.weights[static_cast<std::size_t>(x) * static_cast<std::size_t>(tx.width)];
      float r = 0, g = 0, b = 0;
      for (int k = 0; k < n; ++k) {
        const std::uint8_t* p = src + static_cast<std::size_t>(first + k) * 3;
        r += w[k] * p[0];
        g += w[k] * p[1];
        b += w[k] * p[2];
      }
      const int xo = flip ? out - 1 - x : x;
      dst[xo * 3 + 0] = r;
      dst[xo * 3 + 1] = g;
      dst[xo * 3 + 2] = b;
    }
  }
  float scale[3], bias[3];
  for (int c = 0; c < 3; ++c) {
    scale[c] = 1.f / (255.f * o.stddev[c]);
    bias[c] = -o.mean[c] / o.stddev[c];
  }
  const std::size_t plane = static_cast<std::size_t>(out) * static_cast<std::size_t>(out);
  for (int y = 0; y < out; ++y) {
    const int first = ty.first[static_cast<std::size_t>(y)], n = ty.count[static_cast<std::size_t>(y)];
    const float* w = &ty.weights[static_cast<std::size_t>(y) * static_cast<std::size_t>(ty.width)];
    float* out_r = chw + static_cast<std::size_t>(y) * static_cast<std::size_t>(out);
    for (int x = 0; x < out; ++x) {
      float v[3] = {0, 0, 0};
      for (int k = 0; k < n; ++k) {
        const float* p =
            &rows[static_cast<std::size_t>(first + k - y_lo) * row_floats + static_cast<std::size_t>(x) * 3];
        v[0] += w[k] * p[0];
        v[1] += w[k] * p[1];
        v[2] += w[k] * p[2];
      }
      for (int c = 0; c < 3; ++c)
        out_r[static_cast<std::size_t>(c) * plane + static_cast<std::size_t>(x)] = v[c] * scale[c] + bias[c];
    }
  }
}

}  // namespace sq::data
