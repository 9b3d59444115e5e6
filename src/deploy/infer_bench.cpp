// sq_infer --bench: for each architecture a random quantized network (synthetic.hpp), packed in memory and
// loaded back; times the median of `repeats` forwards at batch 1 and at `batch`, packed vs fp32 (the training
// framework's eval forward, OpenBLAS sgemm), and reports the weight memory of both. Quote the machine load.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <optional>

#include "deploy/cli_util.hpp"
#include "deploy/infer_bench.hpp"
#include "deploy/synthetic.hpp"
#include "sq/deploy/inference.hpp"
#include "sq/deploy/packed.hpp"

namespace sq::deploy::detail {
namespace {

template <class F>
double median_ms(int repeats, F&& f) {
  f();  // warm-up: buffers, caches
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

}  // namespace

int run_bench(const BenchOptions& o, std::ostream& out) {
  SQ_CHECK(o.batch > 0 && o.repeats > 0, "--bench-batch and --bench-repeats must be positive");
  const char* blas_threads = std::getenv("OPENBLAS_NUM_THREADS");
  out << "sq_infer --bench: " << o.quantizer << (o.quantizer == "kbit" ? " " + std::to_string(o.bits) + "-bit" : "")
      << ", packed on " << describe_device(o.device) << ", fp32 = the training framework's CPU eval forward, median of "
      << o.repeats << "; load average before: " << load_average()
      << "; OPENBLAS_NUM_THREADS=" << (blas_threads ? blas_threads : "(unset)") << " (fp32 path)"
      << (o.device.is_cpu() ? "; packed kernels single-threaded" : "; packed images already on the device") << "\n";
  out << "arch        fp32 weights  packed weights  ratio   b1 fp32 ms  b1 packed ms   b" << o.batch << " fp32 img/s  b"
      << o.batch << " packed img/s\n";
  for (const std::string& arch : o.archs) {
    nn::ModelSpec spec;
    spec.arch = arch;
    spec.in_channels = 3;
    std::unique_ptr<SyntheticNet> net = synthetic_net(spec, o.quantizer, o.bits, 1);
    PackOptions pack;
    pack.normalization = net->normalization;
    const std::string path = "/tmp/sq_infer_bench_" + std::to_string(::getpid()) + "_" + arch + ".sqm";
    train::write_checkpoint(path, pack_model(*net->model, pack));
    PackedNetwork packed = PackedNetwork::load(path, "", o.device);
    // On a GPU the bench also checks its logits against the CPU packed path (exit 1 past 1e-4 relative).
    std::optional<PackedNetwork> host;
    if (o.device.is_cuda()) host.emplace(PackedNetwork::load(path));
    std::remove(path.c_str());
    double gpu_vs_cpu = 0;
    const PackedInfo& info = packed.info();
    double ms[2][2];
    const int batches[2] = {1, o.batch};
    for (int b = 0; b < 2; ++b) {
      Tensor images({batches[b], 3, 32, 32}, DType::f32, Device::cpu());
      float* x = images.data<float>();
      for (std::int64_t i = 0; i < images.numel(); ++i) x[i] = static_cast<float>((i * 7919) % 255) / 255.f - 0.5f;
      ms[b][0] = median_ms(o.repeats, [&] { reference_forward(*net, images); });
      const Tensor on_device = images.to(o.device);
      ms[b][1] = median_ms(o.repeats, [&] { packed.forward(on_device); });
      if (host) {
        const Tensor a = packed.forward(on_device), r = host->forward(images);
        double diff = 0, scale = 1;
        for (std::int64_t i = 0; i < r.numel(); ++i) {
          scale = std::max(scale, std::fabs(double(r.data<float>()[i])));
          diff = std::max(diff, std::fabs(double(a.data<float>()[i]) - double(r.data<float>()[i])));
        }
        gpu_vs_cpu = std::max(gpu_vs_cpu, diff / scale);
      }
    }
    out << std::left << std::setw(10) << arch << std::right << std::setw(12) << info.fp32_weight_bytes << " B"
        << std::setw(14) << info.weight_bytes << " B" << std::setw(6) << std::fixed << std::setprecision(1)
        << static_cast<double>(info.fp32_weight_bytes) / static_cast<double>(info.weight_bytes) << "x"
        << std::setprecision(3) << std::setw(13) << ms[0][0] << std::setw(14) << ms[0][1] << std::setprecision(1)
        << std::setw(17) << 1000.0 * o.batch / ms[1][0] << std::setw(19) << 1000.0 * o.batch / ms[1][1];
    if (host) out << "   GPU vs CPU packed logits " << std::scientific << std::setprecision(2) << gpu_vs_cpu;
    out << "\n" << std::flush;
    SQ_CHECK(!(gpu_vs_cpu > 1e-4), arch << ": the GPU packed logits differ from the CPU packed path by " << gpu_vs_cpu
                                        << " (relative), over 1e-4");
  }
  out << "load average after: " << load_average() << "\n";
  return kExitOk;
}

}  // namespace sq::deploy::detail
