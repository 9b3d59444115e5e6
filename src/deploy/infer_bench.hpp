// sq_infer --bench: packed inference vs the training framework's fp32 eval forward of the same network.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "sq/core/device.hpp"

namespace sq::deploy::detail {

struct BenchOptions {
  std::vector<std::string> archs = {"small_cnn", "resnet20", "resnet56", "vgg9"};
  std::string quantizer = "twn";
  int bits = 4;  // kbit only
  int batch = 128;
  int repeats = 5;
  Device device = Device::cpu();  // cuda: the packed network on the GPU (the fp32 columns stay the CPU's)
};

int run_bench(const BenchOptions& options, std::ostream& out);

}  // namespace sq::deploy::detail
