// Host twin of the batch-building kernel: the same per-pixel math (sq/detail/augment.hpp), one sample at a time.
#include "cpu/augment.hpp"

namespace sq::cpu {

void augment_batch(float* images, std::int32_t* labels, const std::uint8_t* dataset_images,
                   const std::int32_t* dataset_labels, const std::int32_t* order, std::int64_t first, int batch,
                   const detail::AugmentGeometry& geometry, const detail::PixelNormalization& normalization,
                   std::uint64_t seed, std::uint64_t epoch) {
  const detail::AugmentGeometry& g = geometry;
  const std::int64_t sample_bytes = static_cast<std::int64_t>(g.channels) * g.in_height * g.in_width;
  float* out = images;
  for (int b = 0; b < batch; ++b) {
    const std::int64_t sample = order ? order[first + b] : first + b;
    const detail::AugmentDraw draw = detail::augment_draw(g, seed, epoch, sample);
    const std::uint8_t* image = dataset_images + sample * sample_bytes;
    for (int c = 0; c < g.channels; ++c) {
      for (int y = 0; y < g.out_height; ++y) {
        for (int x = 0; x < g.out_width; ++x) *out++ = detail::augment_pixel(image, g, draw, normalization, c, y, x);
      }
    }
    labels[b] = dataset_labels[sample];
  }
}

}  // namespace sq::cpu
