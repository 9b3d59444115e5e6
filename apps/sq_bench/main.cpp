// sq_bench: runs the registered benchmark sections (validate against the CPU first, then time) on a device.
// Exit codes (README.md): 0 every section validated, 1 a section failed validation or a run failed (out of
// memory, no such device), 2 usage error (unknown option, value out of range, --only matching no section).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <new>

#include "bench.hpp"
#include "sq/core/cpu_threads.hpp"
#include "sq/core/error.hpp"
#include "sq/version.hpp"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

const char* kFooter = R"(
Exit codes: 0 every section validated and was timed; 1 a section's device results differ from the CPU twin, or a
run failed (out of memory, no such device: the message says which); 2 usage error (unknown option, a value outside
its range, --only matching no section).
)";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "sq_bench: %s\nRun with --help for more information.\n", message.c_str());
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  sq::exec_with_passive_openmp_waits(argv);  // CPU threads that sleep, not spin, between parallel loops
  CLI::App app{
      "sq_bench: SQ-CUDA benchmarks. Each section validates its device results against the CPU twin, then "
      "reports median microseconds per step, launches per step and GB/s against a copy of the same bytes."};
  app.footer(kFooter);
  app.set_version_flag("--version", "sq_bench " + sq::version(), "print the version (git describe) and exit");
  std::string device = "auto";
  sq::bench::BenchOptions options;
  bool list = false;
  app.add_option("--device", device, "cpu, cuda, cuda:N or auto (cuda when a GPU is visible)")->capture_default_str();
  app.add_option("--steps", options.steps, "timed repetitions per measurement (median reported), 1..1000000")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--warmup", options.warmup, "untimed repetitions first, 0..1000000")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  app.add_option("--only", options.only, "run only sections whose name contains this (see --list)");
  app.add_option("--batch", options.batch, "step section: batch size, 1..65536")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;  // CLI11's own codes (104..114) mean "usage error" to a script: 2
  }
  if (list) {
    for (const auto& s : sq::bench::sections()) std::printf("%-12s %s\n", s.name.c_str(), s.description.c_str());
    return 0;
  }
  std::vector<const sq::bench::Section*> selected;
  for (const auto& s : sq::bench::sections()) {
    if (options.only.empty() || s.name.find(options.only) != std::string::npos) selected.push_back(&s);
  }
  if (selected.empty()) {
    std::string names;
    for (const auto& s : sq::bench::sections()) names += (names.empty() ? "" : ", ") + s.name;
    return usage_error("--only '" + options.only + "' matches no section (sections: " + names + ")");
  }
  const char* section = "(setup)";
  try {
    options.device = sq::select_device(device);
    sq::set_cpu_threads(threads);
    std::printf("sq_bench on %s (CPU: %d threads)\n", sq::describe_device(options.device).c_str(), sq::cpu_threads());
    int rc = 0;
    for (const sq::bench::Section* s : selected) {
      section = s->name.c_str();
      std::printf("\n== %s: %s\n", s->name.c_str(), s->description.c_str());
      rc |= s->run(options);
    }
    return rc == 0 ? 0 : kExitFailed;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "sq_bench: section %s: out of memory (--batch %d, --device %s: try a smaller --batch)\n",
                 section, options.batch, device.c_str());
  } catch (const sq::Error& e) {
    std::fprintf(stderr, "sq_bench: section %s (--device %s, --batch %d): %s\n", section, device.c_str(), options.batch,
                 e.message().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sq_bench: section %s (--device %s, --batch %d): %s\n", section, device.c_str(), options.batch,
                 e.what());
  }
  return kExitFailed;
}
