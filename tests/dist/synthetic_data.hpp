// A small synthetic image data set (Philox pixels, labels spread over the classes) for the data-parallel tests.
#pragma once

#include <cstdint>
#include <vector>

#include "sq/core/philox.hpp"
#include "sq/data/dataset.hpp"

namespace sq::test {

inline data::Dataset synthetic_dataset(std::int64_t n, int channels, int size, int classes, std::uint64_t seed) {
  std::vector<std::uint8_t> x(static_cast<std::size_t>(n) * channels * size * size);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<std::uint8_t>(255.f * philox_uniform_at(seed, 0, i));
  }
  std::vector<std::int32_t> y(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) y[i] = static_cast<std::int32_t>((i * 7 + 3) % classes);
  data::Dataset d;
  d.images = Tensor::from_vector(x, {n, channels, size, size});
  d.labels = Tensor::from_vector(y, {n});
  d.classes = classes;
  d.name = "synthetic";
  return d;
}

}  // namespace sq::test
