// Benchmark section "sq": the SQ pipeline (quantize + error, probabilities + selection, hybrid weights) over all
// conv and FC weights of VGG-9 and ResNet-56. Validates the device against the CPU twin (masks identical,
// hybrid within 1 ulp) or, on the CPU, checks N_q and the hybrid rows, then times it.
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "bench.hpp"
#include "network_shapes.hpp"
#include "sq/core/philox.hpp"
#include "sq/quant/pipeline.hpp"

namespace sq::bench {
namespace {

std::vector<float> he_like_weights(const NetworkShapes& net) {
  std::vector<float> w(static_cast<std::size_t>(net.weights));
  for (const auto& s : net.segments) {
    const float scale = std::sqrt(2.0f / static_cast<float>(s.cols));
    for (std::int64_t i = 0; i < s.rows * s.cols; ++i) {
      const float u = philox_uniform_at(2017, 0, static_cast<std::uint64_t>(s.offset + i));
      w[static_cast<std::size_t>(s.offset + i)] = scale * (2.0f * u - 1.0f);
    }
  }
  return w;
}

// The CPU result of one step: every layer quantizes N_q rows, hybrid = Q there and W elsewhere.
bool validate_cpu(const NetworkShapes& net, quant::SqPipeline& p, const std::vector<float>& w,
                  const std::vector<float>& hybrid, std::string& why) {
  std::vector<float> q(w.size());
  const std::vector<std::uint8_t> mask = p.mask_to_host(nullptr);
  quant::SqPipeline reference(net.segments, p.options(), Device::cpu());
  reference.quantize_all(w.data(), q.data(), nullptr);
  std::size_t unit = 0;
  for (const auto& s : net.segments) {
    std::int64_t quantized = 0;
    for (std::int64_t r = 0; r < s.rows; ++r, ++unit) {
      quantized += mask[unit];
      for (std::int64_t j = 0; j < s.cols; ++j) {
        const auto i = static_cast<std::size_t>(s.offset + r * s.cols + j);
        if (hybrid[i] != (mask[unit] ? q[i] : w[i])) {
          why = "hybrid differs from mask ? Q : W at element " + std::to_string(i);
          return false;
        }
      }
    }
    if (quantized != quant::quantized_count(p.options().ratio, s.rows)) {
      why = "N_q wrong in the layer at offset " + std::to_string(s.offset);
      return false;
    }
  }
  return true;
}

bool validate_against_cpu(const NetworkShapes& net, const quant::SqPipeline& device_pipeline,
                          const std::vector<float>& w, const std::vector<float>& device_hybrid, std::uint64_t step,
                          std::string& why) {
  quant::SqPipeline cpu(net.segments, device_pipeline.options(), Device::cpu());
  std::vector<float> hybrid(w.size());
  cpu.run(w.data(), hybrid.data(), step, nullptr);
  if (cpu.mask_to_host(nullptr) != device_pipeline.mask_to_host(nullptr)) {
    why = "masks differ from the CPU twin";
    return false;
  }
  for (std::size_t i = 0; i < w.size(); ++i) {
    const float a = hybrid[i], b = device_hybrid[i];
    if (a != b && std::fabs(a - b) > std::fabs(std::nextafter(a, std::numeric_limits<float>::infinity()) - a)) {
      why = "hybrid differs from the CPU twin by more than 1 ulp at element " + std::to_string(i);
      return false;
    }
  }
  return true;
}

int bench_network(const BenchOptions& options, const NetworkShapes& net) {
  quant::SqOptions sq_options;  // defaults: twn, linear, topk, channel
  sq_options.ratio = 0.5;
  sq_options.seed = 1;
  const std::vector<float> w = he_like_weights(net);
  const std::size_t bytes = w.size() * sizeof(float);
  StreamHandle stream = create_stream(options.device);
  DeviceBuffer d_w(options.device, bytes), d_hybrid(options.device, bytes);
  d_w.upload(w.data(), bytes);
  quant::SqPipeline pipeline(net.segments, sq_options, options.device);
  const auto* weights = static_cast<const float*>(d_w.data);
  auto* hybrid = static_cast<float*>(d_hybrid.data);

  // Validate first.
  pipeline.run(weights, hybrid, 0, stream);
  pipeline.check_finite(stream);
  std::vector<float> h_hybrid(w.size());
  d_hybrid.download(h_hybrid.data(), bytes);
  std::string why;
  const bool ok = options.device.is_cpu() ? validate_cpu(net, pipeline, w, h_hybrid, why)
                                          : validate_against_cpu(net, pipeline, w, h_hybrid, 0, why);
  if (!ok) {
    std::printf("%-9s VALIDATION FAILED: %s\n", net.name.c_str(), why.c_str());
    destroy_stream(options.device, stream);
    return 1;
  }

  std::uint64_t step = 1;
  const double us = median_us(options, stream, [&] { pipeline.run(weights, hybrid, step++, stream); });
  const double copy_us = copy_median_us(options, stream, bytes);
  const int captured = captured_launches(options.device, stream, [&] { pipeline.run(weights, hybrid, 0, stream); });
  // Replays of one captured step (the step index is fixed: the cost does not depend on it).
  const double graph_us = graph_median_us(options, stream, [&] { pipeline.run(weights, hybrid, 3, stream); });
  if (graph_us >= 0) std::printf("%-9s CUDA graph replay: %.1f us per step\n", net.name.c_str(), graph_us);
  // Bytes the pipeline must move at least: read W once, write W~ once (what a copy of the same buffer moves).
  const double gbps = 2.0 * static_cast<double>(bytes) / (us * 1e3);
  const double copy_gbps = 2.0 * static_cast<double>(bytes) / (copy_us * 1e3);
  std::printf(
      "%-9s layers %3zu  weights %9lld  rows %6lld | SQ step %9.1f us  launches %d%s | %7.2f GB/s  "
      "copy %8.1f us %7.2f GB/s  ratio %.1fx  [validated]\n",
      net.name.c_str(), net.segments.size(), static_cast<long long>(net.weights),
      static_cast<long long>(pipeline.units()), us, pipeline.launches_per_step(),
      captured >= 0 ? (" (captured " + std::to_string(captured) + ")").c_str() : " (on a GPU)", gbps, copy_us,
      copy_gbps, us / copy_us);
  destroy_stream(options.device, stream);
  return 0;
}

int run_sq_section(const BenchOptions& options) {
  std::printf("options: twn, linear, topk, channel, r = 0.5; median of %d steps after %d warm-up\n", options.steps,
              options.warmup);
  int rc = 0;
  for (const NetworkShapes& net : {vgg9_shapes(), resnet56_shapes()}) rc |= bench_network(options, net);
  return rc;
}

}  // namespace

SQ_BENCH_SECTION("sq", "SQ pipeline per step over all conv/FC weights of VGG-9 and ResNet-56", run_sq_section);

}  // namespace sq::bench
