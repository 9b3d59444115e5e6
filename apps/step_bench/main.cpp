// step_bench: command line of the training-step benchmark (see step_bench.hpp).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "sq/core/error.hpp"
#include "step_bench.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Median training-step time of VGG-9 / ResNet-56 with FWN, TWN and SQ-TWN weights"};
  sq::bench::StepBenchOptions options;
  std::string device = "auto", math = "tf32";
  app.add_option("--device", device, "auto, cpu, cuda or cuda:N");
  app.add_option("--arch", options.archs, "architectures (vgg9, resnet20..110, small_cnn)");
  app.add_option("--methods", options.methods, "fwn, bwn, twn, sq-bwn, sq-twn");
  app.add_option("--batch", options.batch, "batch size");
  app.add_option("--warmup", options.warmup, "warm-up steps (default 10 GPU, 1 CPU)");
  app.add_option("--iters", options.iters, "timed steps (default 50 GPU, 3 CPU)");
  app.add_option("--ratio", options.ratio, "SQ ratio of the sq-* methods");
  app.add_option("--math", math, "GPU math: tf32 or fp32");
  app.add_flag("!--no-graph", options.graph, "GPU: eager steps instead of a CUDA graph");
  app.add_flag("!--no-validate", options.validate, "GPU: skip the one-step check against the CPU");
  app.add_option("--json", options.json, "append results as JSON lines to this file");
  CLI11_PARSE(app, argc, argv);
  try {
    options.device = sq::select_device(device);
    SQ_CHECK(math == "tf32" || math == "fp32", "--math must be tf32 or fp32, got '" << math << "'");
    options.math = math == "tf32" ? sq::nn::MathMode::tf32 : sq::nn::MathMode::fp32;
    sq::bench::run_step_bench(options);
  } catch (const sq::Error& e) {
    std::fprintf(stderr, "step_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
