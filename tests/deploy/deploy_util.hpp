// Helpers for the deploy tests: synthetic nets packed to a temp file, images, logits comparison.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "deploy/synthetic.hpp"
#include "sq/core/philox.hpp"
#include "sq/deploy/inference.hpp"
#include "sq/deploy/packed.hpp"

namespace sq_deploy_test {

struct QuantCase {
  std::string quantizer;
  int bits;  // kbit only
  std::string label() const { return quantizer == "kbit" ? "kbit" + std::to_string(bits) : quantizer; }
};

inline const std::vector<QuantCase>& quant_cases() {
  static const std::vector<QuantCase> cases = {{"bwn", 0},         {"twn", 0},  {"twn-caffe", 0},
                                               {"twn-channel", 0}, {"kbit", 3}, {"kbit", 8}};
  return cases;
}

inline std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "sq_deploy_" + std::to_string(::getpid()) + "_" + name;
}

// Images in the range normalised inputs have, from Philox (not the code under test's RNG use).
inline sq::Tensor test_images(std::int64_t n, int channels, int size, std::uint64_t seed) {
  sq::Tensor t({n, channels, size, size}, sq::DType::f32, sq::Device::cpu());
  float* x = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) x[i] = 4.f * (sq::philox_uniform_at(seed, 5, i) - 0.5f);
  return t;
}

// max |a - b| relative to the largest |b| (>= 1): the fp32 tolerance the logits are held to.
inline double max_relative_difference(const sq::Tensor& a, const sq::Tensor& b) {
  double scale = 1.0, diff = 0.0;
  for (std::int64_t i = 0; i < b.numel(); ++i) scale = std::max(scale, std::fabs(double(b.data<float>()[i])));
  for (std::int64_t i = 0; i < b.numel(); ++i)
    diff = std::max(diff, std::fabs(double(a.data<float>()[i]) - double(b.data<float>()[i])));
  return diff / scale;
}

}  // namespace sq_deploy_test
