// The training-step benchmark: validate a step against the CPU (GPU runs), then time steps and report medians.
#pragma once

#include <string>
#include <vector>

#include "sq/core/device.hpp"
#include "sq/nn/context.hpp"

namespace sq::bench {

struct StepBenchOptions {
  Device device = Device::cpu();
  std::vector<std::string> archs = {"vgg9", "resnet56"};
  std::vector<std::string> methods = {"fwn", "twn", "sq-twn"};  // also "bwn", "sq-bwn"
  int batch = 128;
  int warmup = -1;     // -1: 10 on the GPU, 1 on the CPU
  int iters = -1;      // -1: 50 on the GPU, 3 on the CPU
  double ratio = 0.5;  // SQ ratio of the sq-* methods
  nn::MathMode math = nn::MathMode::tf32;
  bool graph = true;     // GPU: replay the step as a CUDA graph
  bool validate = true;  // GPU: one small step against the CPU before timing
  std::string json;      // append one JSON line per result here ("" = none)
};

struct StepBenchResult {
  std::string arch, method, device;
  int batch = 0, iters = 0;
  bool graph = false;
  double median_ms = 0, min_ms = 0, images_per_s = 0;
};

// Runs every (arch, method) pair; prints a table and the SQ overhead over the plain quantizer; returns the
// results. Throws sq::Error when validation fails.
std::vector<StepBenchResult> run_step_bench(const StepBenchOptions& options);

}  // namespace sq::bench
