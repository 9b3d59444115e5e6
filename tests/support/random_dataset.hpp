// A small synthetic data set (LCG pixels, labels cycling through the classes) for loader tests on both devices.
#pragma once

#include <cstdint>

#include "sq/data/dataset.hpp"

namespace sq::test {

inline sq::data::Dataset random_dataset(std::int64_t n, int c, int h, int w, int classes, std::uint32_t seed) {
  sq::data::Dataset data;
  data.images = sq::Tensor({n, c, h, w}, sq::DType::u8);
  data.labels = sq::Tensor({n}, sq::DType::i32);
  data.classes = classes;
  data.name = "random";
  std::uint32_t state = seed;
  std::uint8_t* px = data.images.data<std::uint8_t>();
  for (std::int64_t i = 0; i < data.images.numel(); ++i) {
    state = state * 1664525u + 1013904223u;
    px[i] = static_cast<std::uint8_t>(state >> 24);
  }
  for (std::int64_t i = 0; i < n; ++i) data.labels.data<std::int32_t>()[i] = static_cast<std::int32_t>(i % classes);
  return data;
}

}  // namespace sq::test
