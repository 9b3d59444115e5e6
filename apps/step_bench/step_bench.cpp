// Step benchmark: builds each model, validates one small step on the GPU against the CPU, then times train
// steps (CUDA events per step on the GPU, wall clock on the CPU) on a fixed random batch and reports medians.
#include "step_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>

#include "sq/config.hpp"
#include "sq/core/error.hpp"
#include "sq/core/philox.hpp"
#include "sq/nn/models.hpp"
#include "sq/quant/pipeline.hpp"
#include "sq/train/trainer.hpp"

#if SQ_WITH_CUDA
#include <cuda_runtime_api.h>

#include "sq/core/cuda_check.hpp"
#endif

namespace sq::bench {

namespace {

// "fwn" -> no quantization; "twn"/"bwn" -> r = 1; "sq-twn"/"sq-bwn" -> r = ratio.
std::optional<quant::SqOptions> method_options(const std::string& method, double ratio) {
  if (method == "fwn") return std::nullopt;
  const bool sq = method.rfind("sq-", 0) == 0;
  quant::SqOptions o;
  o.quantizer = quant::parse_quantizer(sq ? method.substr(3) : method);
  o.ratio = sq ? ratio : 1.0;
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
  for (int i = 0; i < batch; ++i) y[i] = i % 10;
  return {Tensor::from_vector(x, {batch, channels, 32, 32}, device), Tensor::from_vector(y, {batch}, device)};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// One step at batch 4 on the CPU and on options.device from the same seed, strict fp32: losses and weight
// updates agree.
void validate_step(const std::string& arch, const std::string& method, const StepBenchOptions& options) {
  nn::ModelSpec spec;
  spec.arch = arch;
  std::vector<float> loss(2);
  std::vector<std::vector<float>> weights(2);
  const Device devices[2] = {Device::cpu(), options.device};
  for (int d = 0; d < 2; ++d) {
    nn::ExecutionContext ctx = nn::make_context(devices[d], nn::MathMode::fp32, true);
    auto model = nn::build_model(spec, method_options(method, options.ratio), ctx, 7);
    train::TrainerOptions topt;
    topt.use_graph = false;
    train::Trainer trainer(*model, ctx, topt);
    const Batch batch = random_batch(4, spec.in_channels, devices[d]);
    const std::vector<float> before = model->arena().values().to_vector<float>();
    trainer.train_step(batch.images, batch.labels, 0.1f);
    loss[d] = trainer.read_loss();
    weights[d] = model->arena().values().to_vector<float>();
    for (std::size_t i = 0; i < before.size(); ++i) weights[d][i] -= before[i];  // the update lr * (g + wd w)
  }
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < weights[0].size(); ++i) {
    diff += std::pow(double(weights[1][i]) - weights[0][i], 2);
    norm += std::pow(double(weights[0][i]), 2);
  }
  const double rel = std::sqrt(diff / std::max(norm, 1e-30));
  SQ_CHECK(std::fabs(loss[1] - loss[0]) <= 1e-3 * std::fabs(loss[0]) && rel < 1e-4,
           "step_bench validation failed for " << arch << " " << method << ": loss cpu " << loss[0] << " vs "
                                               << options.device.str() << " " << loss[1] << ", update relative error "
                                               << rel);
  std::printf("validated %s %s against the CPU: loss %.6f vs %.6f, update rel. error %.2e\n", arch.c_str(),
              method.c_str(), loss[0], loss[1], rel);
}

StepBenchResult time_steps(const std::string& arch, const std::string& method, const StepBenchOptions& options,
                           int warmup, int iters) {
  nn::ModelSpec spec;
  spec.arch = arch;
  nn::ExecutionContext ctx = nn::make_context(options.device, options.math, false);
  auto model = nn::build_model(spec, method_options(method, options.ratio), ctx, 1);
  train::TrainerOptions topt;
  topt.use_graph = options.graph;
  train::Trainer trainer(*model, ctx, topt);
  const Batch batch = random_batch(options.batch, spec.in_channels, options.device);
  const float lr = 0.01f;  // small: the timed steps must not diverge into NaN/Inf slow paths
  for (int i = 0; i < warmup; ++i) trainer.train_step(batch.images, batch.labels, lr);
  std::vector<double> ms;
  if (options.device.is_cpu()) {
    for (int i = 0; i < iters; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      trainer.train_step(batch.images, batch.labels, lr);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  } else {
#if SQ_WITH_CUDA
    const cudaStream_t stream = reinterpret_cast<cudaStream_t>(ctx.stream);
    std::vector<cudaEvent_t> events(static_cast<std::size_t>(iters) + 1);
    for (cudaEvent_t& e : events) SQ_CUDA_CHECK(cudaEventCreate(&e));
    SQ_CUDA_CHECK(cudaEventRecord(events[0], stream));
    for (int i = 0; i < iters; ++i) {
      trainer.train_step(batch.images, batch.labels, lr);
      SQ_CUDA_CHECK(cudaEventRecord(events[i + 1], stream));
    }
    SQ_CUDA_CHECK(cudaStreamSynchronize(stream));
    for (int i = 0; i < iters; ++i) {
      float elapsed = 0;
      SQ_CUDA_CHECK(cudaEventElapsedTime(&elapsed, events[i], events[i + 1]));
      ms.push_back(elapsed);
    }
    for (cudaEvent_t e : events) (void)cudaEventDestroy(e);
#endif
  }
  const float loss = trainer.read_loss();
  SQ_CHECK(std::isfinite(loss), "step_bench: " << arch << " " << method << " loss became " << loss);
  StepBenchResult r;
  r.arch = arch;
  r.method = method;
  r.device = describe_device(options.device);
  r.batch = options.batch;
  r.iters = iters;
  r.graph = trainer.graph_active();
  r.median_ms = median(ms);
  r.min_ms = *std::min_element(ms.begin(), ms.end());
  r.images_per_s = options.batch / (r.median_ms / 1000.0);
  return r;
}

}  // namespace

std::vector<StepBenchResult> run_step_bench(const StepBenchOptions& options) {
  const bool gpu = options.device.is_cuda();
  const int warmup = options.warmup >= 0 ? options.warmup : (gpu ? 10 : 1);
  const int iters = options.iters > 0 ? options.iters : (gpu ? 50 : 3);
  std::printf("step benchmark on %s: batch %d, %d warm-up + %d timed steps%s%s\n",
              describe_device(options.device).c_str(), options.batch, warmup, iters,
              gpu ? (options.math == nn::MathMode::tf32 ? ", math tf32" : ", math fp32") : "",
              gpu ? (options.graph ? ", CUDA graph" : ", eager") : "");
  std::vector<StepBenchResult> results;
  for (const std::string& arch : options.archs) {
    for (const std::string& method : options.methods) {
      if (gpu && options.validate) validate_step(arch, method, options);
      results.push_back(time_steps(arch, method, options, warmup, iters));
      const StepBenchResult& r = results.back();
      std::printf("%-10s %-8s median %10.3f ms  min %10.3f ms  %9.1f images/s%s\n", r.arch.c_str(), r.method.c_str(),
                  r.median_ms, r.min_ms, r.images_per_s, r.graph ? "  (graph)" : "");
      std::fflush(stdout);
      if (!options.json.empty()) {
        std::ofstream out(options.json, std::ios::app);
        out << "{\"bench\": \"train_step\", \"impl\": \"sq-cuda\", \"arch\": \"" << r.arch << "\", \"method\": \""
            << r.method << "\", \"device\": \"" << r.device << "\", \"batch\": " << r.batch
            << ", \"iters\": " << r.iters << ", \"graph\": " << (r.graph ? "true" : "false")
            << ", \"median_ms\": " << r.median_ms << ", \"min_ms\": " << r.min_ms << "}\n";
      }
    }
    // SQ's cost over the plain quantizer with the same bit width (the target: at most 5%).
    for (const StepBenchResult& sq : results) {
      if (sq.arch != arch || sq.method.rfind("sq-", 0) != 0) continue;
      for (const StepBenchResult& plain : results) {
        if (plain.arch == arch && plain.method == sq.method.substr(3)) {
          std::printf("%-10s %s over %s: %+.1f%%\n", arch.c_str(), sq.method.c_str(), plain.method.c_str(),
                      100.0 * (sq.median_ms / plain.median_ms - 1.0));
        }
      }
    }
  }
  return results;
}

}  // namespace sq::bench
