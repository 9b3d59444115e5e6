// loader_bench: how many images per second ImageFolderLoader turns into training samples on this machine
// (read, decode with DCT scaling, random-resized-crop, flip, normalise into f32 host batches), median of several
// epochs, with 1..N threads. docs/PERFORMANCE.md compares it with PIL + torchvision (scripts/bench_loader.py).
// Exit codes: 0 measured, 1 error (no such folder, no decoder), 2 usage.
#include <sys/resource.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "sq/core/error.hpp"
#include "sq/data/image_folder_loader.hpp"

namespace {
// CPU seconds of this process (all threads): images per CPU second is the per-core rate, robust on a shared machine.
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "loader_bench: images/s of the ImageNet loader (decode + augment to --size) on a folder of "
      "<class>/*.JPEG, per thread count"};
  std::string dir;
  std::vector<int> threads = {1};
  int size = 224, batch = 32, epochs = 5;
  bool eval = false;
  app.add_option("--data", dir, "folder of class folders (ImageNet's train/)")->required();
  app.add_option("--threads", threads, "thread counts to measure (e.g. 1 2)")->capture_default_str();
  app.add_option("--size", size, "output size")->capture_default_str()->check(CLI::Range(8, 1024));
  app.add_option("--batch", batch, "batch size")->capture_default_str()->check(CLI::Range(1, 4096));
  app.add_option("--epochs", epochs, "timed epochs (median reported) after one warm-up epoch")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_flag("--eval", eval, "evaluation transform (resize + centre crop) instead of training's");
  CLI11_PARSE(app, argc, argv);
  try {
    const sq::data::ImageList list = sq::data::scan_class_folders(dir, 0, "bench");
    for (int t : threads) {
      sq::data::ImageLoaderOptions o;
      o.transform.out_size = size;
      o.transform.train = !eval;
      o.shuffle = !eval;
      o.batch = batch;
      o.threads = t;
      sq::data::ImageFolderLoader loader(list, sq::Device::cpu(), o);
      std::vector<double> rates, per_cpu;
      for (int e = 0; e <= epochs; ++e) {
        const auto start = std::chrono::steady_clock::now();
        const double cpu_start = cpu_seconds();
        loader.start_epoch(static_cast<std::uint64_t>(e));
        std::int64_t images = 0;
        while (const sq::data::Batch* b = loader.next()) images += b->size;
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double cpu = cpu_seconds() - cpu_start;
        if (e > 0) {
          rates.push_back(static_cast<double>(images) / s);
          per_cpu.push_back(static_cast<double>(images) / cpu);
        }
      }
      std::sort(rates.begin(), rates.end());
      std::sort(per_cpu.begin(), per_cpu.end());
      std::printf("threads %d: %.1f images/s wall, %.1f images per CPU-second (medians of %d epochs of %lld images)\n",
                  t, rates[rates.size() / 2], per_cpu[per_cpu.size() / 2], epochs,
                  static_cast<long long>(loader.batches_per_epoch() * batch));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loader_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
