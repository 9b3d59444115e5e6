// Benchmark section "step": the whole training step (SQ pipeline, forward, loss, backward, SGD) of VGG-9 and
// ResNet-56 with FWN, TWN and SQ-TWN weights. On a GPU each case first runs one strict-fp32 step at batch 4
// against the CPU (loss and weight update agree), then is timed (CUDA graph replays unless --no-graph).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "bench.hpp"
#include "sq/core/error.hpp"
#include "sq/core/philox.hpp"
#include "sq/nn/models.hpp"
#include "sq/quant/pipeline.hpp"
#include "sq/train/trainer.hpp"

namespace sq::bench {
namespace {

const char* const kArchs[] = {"vgg9", "resnet56"};
const char* const kMethods[] = {"fwn", "twn", "sq-twn"};
constexpr double kSqRatio = 0.5;

// "fwn": no quantization; "twn": r = 1; "sq-twn": r = kSqRatio.
std::optional<quant::SqOptions> method_options(const std::string& method) {
  if (method == "fwn") return std::nullopt;
  quant::SqOptions o;
  o.quantizer = quant::Quantizer::twn;
  o.ratio = method == "sq-twn" ? kSqRatio : 1.0;
  o.seed = 1;
  return o;
}

struct Batch {
  Tensor images, labels;
};
Batch random_batch(int batch, int channels, Device device) {
  std::vector<float> x(static_cast<std::size_t>(batch) * channels * 32 * 32);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 2.f * philox_uniform_at(2024, 0, i) - 1.f;
  std::vector<std::int32_t> y(static_cast<std::size_t>(batch));
  for (int i = 0; i < batch; ++i) y[static_cast<std::size_t>(i)] = i % 10;
  return {Tensor::from_vector(x, {batch, channels, 32, 32}, device), Tensor::from_vector(y, {batch}, device)};
}

// One strict-fp32 step at batch 4 on the CPU and on `device` from the same seed: the losses agree to 1e-3 and the
// weight updates (lr * (g + wd w)) to a relative error under 1e-3.
bool validate(const std::string& arch, const std::string& method, Device device) {
  nn::ModelSpec spec;
  spec.arch = arch;
  float loss[2];
  std::vector<float> update[2];
  const Device devices[2] = {Device::cpu(), device};
  for (int d = 0; d < 2; ++d) {
    nn::ExecutionContext ctx = nn::make_context(devices[d], nn::MathMode::fp32, true);
    auto model = nn::build_model(spec, method_options(method), ctx, 7);
    train::TrainerOptions topt;
    topt.use_graph = false;
    train::Trainer trainer(*model, ctx, topt);
    const Batch batch = random_batch(4, spec.in_channels, devices[d]);
    const std::vector<float> before = model->arena().values().to_vector<float>();
    trainer.train_step(batch.images, batch.labels, 0.1f);
    loss[d] = trainer.read_loss();
    update[d] = model->arena().values().to_vector<float>();
    for (std::size_t i = 0; i < before.size(); ++i) update[d][i] -= before[i];
  }
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < update[0].size(); ++i) {
    diff += std::pow(double(update[1][i]) - update[0][i], 2);
    norm += std::pow(double(update[0][i]), 2);
  }
  const double rel = std::sqrt(diff / std::max(norm, 1e-30));
  const bool ok = std::fabs(loss[1] - loss[0]) <= 1e-3 * std::fabs(loss[0]) && rel < 1e-3;
  std::printf("%s %-10s %-7s vs cpu: loss %.6f / %.6f, update rel. error %.2e\n", ok ? "validated" : "FAILED   ",
              arch.c_str(), method.c_str(), loss[1], loss[0], rel);
  return ok;
}

struct Timing {
  double median_ms;
  double min_ms;  // CPU only (a shared CPU's median carries other processes' load; the minimum less so)
  bool graph;
};

Timing time_steps(const std::string& arch, const std::string& method, const BenchOptions& options) {
  nn::ModelSpec spec;
  spec.arch = arch;
  nn::ExecutionContext ctx =
      nn::make_context(options.device, options.math == "fp32" ? nn::MathMode::fp32 : nn::MathMode::tf32, false);
  if (!options.cpu_conv.empty()) ctx.cpu_conv = nn::parse_cpu_conv(options.cpu_conv);
  auto model = nn::build_model(spec, method_options(method), ctx, 1);
  train::TrainerOptions topt;
  topt.use_graph = options.graph;
  train::Trainer trainer(*model, ctx, topt);
  const Batch batch = random_batch(options.batch, spec.in_channels, options.device);
  const float lr = 0.01f;  // small: timed steps must stay finite
  auto step = [&] { trainer.train_step(batch.images, batch.labels, lr); };
  Timing t{0, 0, false};
  if (options.device.is_cpu()) {
    // A VGG-9 step at batch 128 takes seconds on a small CPU: at most 1 warm-up and 3 timed steps.
    for (int i = 0; i < std::min(options.warmup, 1); ++i) step();
    std::vector<double> ms;
    for (int i = 0; i < std::max(1, std::min(options.steps, 3)); ++i) {
      const auto start = std::chrono::steady_clock::now();
      step();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    t.median_ms = ms[ms.size() / 2];
    t.min_ms = ms.front();
  } else {
    BenchOptions timed = options;
    timed.warmup = std::max(options.warmup, 3);  // the graph is captured at the second step: keep it untimed
    t.median_ms = median_us(timed, ctx.stream, step) / 1000.0;
  }
  const float loss = trainer.read_loss();
  SQ_CHECK(std::isfinite(loss), "step bench: " << arch << " " << method << " loss became " << loss);
  t.graph = trainer.graph_active();
  return t;
}

int run_step_section(const BenchOptions& options) {
  const bool gpu = options.device.is_cuda();
  std::printf("batch %d, %s%s; SQ-TWN: linear / topk / channel, r = %.2f\n", options.batch,
              gpu ? (options.math == "fp32" ? "fp32" : "tf32") : "fp32 (CPU: at most 3 timed steps after 1 warm-up)",
              gpu ? (options.graph ? ", CUDA graph replays" : ", eager steps") : "", kSqRatio);
  if (!gpu) {
    std::printf("CPU convolutions: %s\n",
                options.cpu_conv.empty() ? nn::cpu_conv_name(nn::default_cpu_conv()) : options.cpu_conv.c_str());
  }
  std::vector<std::string> archs = options.archs, methods = options.methods;
  if (archs.empty()) archs.assign(std::begin(kArchs), std::end(kArchs));
  if (methods.empty()) methods.assign(std::begin(kMethods), std::end(kMethods));
  int rc = 0;
  for (const std::string& arch_name : archs) {
    const char* arch = arch_name.c_str();
    double median_of[3] = {0, 0, 0};
    for (int m = 0; m < 3; ++m) {
      if (std::find(methods.begin(), methods.end(), kMethods[m]) == methods.end()) continue;
      if (gpu && !validate(arch, kMethods[m], options.device)) {
        rc = 1;
        continue;
      }
      const Timing t = time_steps(arch, kMethods[m], options);
      median_of[m] = t.median_ms;
      std::printf("%-10s %-7s median %10.3f ms  %9.1f images/s", arch, kMethods[m], t.median_ms,
                  options.batch / (t.median_ms / 1000.0));
      if (t.min_ms > 0) std::printf("  min %10.3f ms", t.min_ms);
      std::printf("%s\n", t.graph ? "  (graph)" : "");
      std::fflush(stdout);
    }
    // The target on an H100/H200: SQ-TWN at most 5% over TWN.
    if (median_of[1] > 0 && median_of[2] > 0) {
      std::printf("%-10s sq-twn over twn: %+.1f%%\n", arch, 100.0 * (median_of[2] / median_of[1] - 1.0));
    }
  }
  return rc;
}

}  // namespace

SQ_BENCH_SECTION("step",
                 "training step (SQ + forward + loss + backward + SGD) of VGG-9 and ResNet-56: FWN, TWN, SQ-TWN",
                 run_step_section);

}  // namespace sq::bench
