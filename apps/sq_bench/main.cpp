// sq_bench: runs the registered benchmark sections (validate against the CPU first, then time) on a device.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "bench.hpp"
#include "sq/core/cpu_threads.hpp"
#include "sq/core/error.hpp"

int main(int argc, char** argv) {
  sq::exec_with_passive_openmp_waits(argv);  // CPU threads that sleep, not spin, between parallel loops
  CLI::App app{
      "sq_bench: SQ-CUDA benchmarks. Each section validates its device results against the CPU twin, then "
      "reports median microseconds per step, launches per step and GB/s against a copy of the same bytes."};
  std::string device = "auto";
  sq::bench::BenchOptions options;
  bool list = false;
  app.add_option("--device", device, "cpu, cuda, cuda:N or auto (cuda when a GPU is visible)")->capture_default_str();
  app.add_option("--steps", options.steps, "timed repetitions per measurement (median reported)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", options.warmup, "untimed repetitions first")->capture_default_str();
  app.add_option("--only", options.only, "run only sections whose name contains this");
  app.add_option("--batch", options.batch, "step section: batch size")->capture_default_str();
  app.add_option("--math", options.math, "step section: GPU math, tf32 or fp32")
      ->check(CLI::IsMember({"tf32", "fp32"}));
  app.add_flag("!--no-graph", options.graph, "step section: eager steps instead of CUDA-graph replays");
  app.add_option("--arch", options.archs, "step section: networks (vgg9, resnet20, resnet56, small_cnn, ...)");
  app.add_option("--method", options.methods, "step section: fwn, twn and/or sq-twn")
      ->check(CLI::IsMember({"fwn", "twn", "sq-twn"}));
  app.add_option("--cpu-conv", options.cpu_conv,
                 "CPU convolutions and Linear: onednn (default when built with oneDNN) or reference (im2col + "
                 "OpenBLAS)")
      ->check(CLI::IsMember({"onednn", "reference"}));
  int threads = 0;
  app.add_option("--threads", threads, "CPU threads (0: SQ_CPU_THREADS, else the number of cores)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  app.add_flag("--list", list, "list the sections and exit");
  CLI11_PARSE(app, argc, argv);
  try {
    if (list) {
      for (const auto& s : sq::bench::sections()) std::printf("%-12s %s\n", s.name.c_str(), s.description.c_str());
      return 0;
    }
    options.device = sq::select_device(device);
    sq::set_cpu_threads(threads);
    std::printf("sq_bench on %s (CPU: %d threads)\n", sq::describe_device(options.device).c_str(), sq::cpu_threads());
    int rc = 0;
    for (const auto& s : sq::bench::sections()) {
      if (!options.only.empty() && s.name.find(options.only) == std::string::npos) continue;
      std::printf("\n== %s: %s\n", s.name.c_str(), s.description.c_str());
      rc |= s.run(options);
    }
    return rc;
  } catch (const sq::Error& e) {
    std::fprintf(stderr, "sq_bench: %s\n", e.what());
    return 1;
  }
}
