// CUDA SQ pipeline against its CPU twin: random ragged layer sets, every quantizer, sampler, probability function
// and granularity, several seeds and steps; outputs poisoned first; identical masks and errors, hybrid weights
// within 1 ulp; CUDA graph replay (step from device memory) equals eager; NaN/Inf flagged at the sync points.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "sq/core/cuda_check.hpp"
#include "sq/core/error.hpp"
#include "sq/core/philox.hpp"
#include "sq/core/tensor.hpp"
#include "sq/quant/pipeline.hpp"
#include "support/gpu.hpp"

namespace {

namespace quant = sq::quant;

struct LayerSet {
  std::vector<quant::SqSegment> segments;
  std::int64_t size = 0;  // buffer elements, gaps included
  std::vector<float> weights;
};

// 1..max_layers layers of random shapes with random gaps; weights of mixed scales, some exact zeros and ties.
LayerSet random_layers(std::uint64_t seed, int max_layers, int max_rows, int max_cols) {
  LayerSet set;
  std::uint64_t draw = 0;
  const auto next = [&](int n) {
    return static_cast<int>(sq::philox_uniform_at(seed, 99, draw++) * static_cast<float>(n)) % n;
  };
  const int layers = 1 + next(max_layers);
  for (int l = 0; l < layers; ++l) {
    const std::int64_t rows = 1 + next(max_rows), cols = 1 + next(max_cols);
    set.size += next(5);  // gap
    set.segments.push_back({set.size, rows, cols});
    set.size += rows * cols;
  }
  set.size += next(5);
  set.weights.resize(static_cast<std::size_t>(set.size));
  for (std::int64_t i = 0; i < set.size; ++i) {
    const float u = sq::philox_uniform_at(seed, 100, static_cast<std::uint64_t>(i));
    float w = (2.0f * u - 1.0f) * (i % 7 == 0 ? 10.0f : 0.1f);
    if (i % 13 == 0) w = 0.0f;
    if (i % 17 == 0) w = 0.05f;  // repeated values: ties in sorted / kbit
    set.weights[static_cast<std::size_t>(i)] = w;
  }
  return set;
}

float ulps_apart(float a, float b) {
  if (a == b) return 0.0f;
  return std::fabs(a - b) / std::fabs(std::nextafter(a, std::numeric_limits<float>::infinity()) - a);
}

struct Outcome {
  std::vector<float> hybrid;
  std::vector<std::uint8_t> mask;
  std::vector<double> errors;
  std::vector<quant::SqLayerStats> stats;
};

Outcome run_cpu(quant::SqPipeline& p, const LayerSet& set, std::uint64_t step) {
  Outcome o{std::vector<float>(set.weights.size(), std::numeric_limits<float>::quiet_NaN()), {}, {}, {}};
  p.run(set.weights.data(), o.hybrid.data(), step, nullptr);
  o.mask = p.mask_to_host(nullptr);
  o.errors = p.errors_to_host(nullptr);
  o.stats = p.stats(nullptr);
  return o;
}

Outcome run_gpu(quant::SqPipeline& p, const sq::Tensor& d_weights, sq::Tensor& d_hybrid, std::uint64_t step,
                bool poison_mask) {
  std::vector<float> nan(static_cast<std::size_t>(d_hybrid.numel()), std::numeric_limits<float>::quiet_NaN());
  SQ_CUDA_CHECK(cudaMemcpy(d_hybrid.data<float>(), nan.data(), nan.size() * sizeof(float), cudaMemcpyHostToDevice));
  if (poison_mask) SQ_CUDA_CHECK(cudaMemset(const_cast<std::uint8_t*>(p.mask()), 0xAB, p.units()));
  p.run(d_weights.data<float>(), d_hybrid.data<float>(), step, nullptr);
  Outcome o{d_hybrid.to_vector<float>(), p.mask_to_host(nullptr), p.errors_to_host(nullptr), p.stats(nullptr)};
  return o;
}

void expect_same(const Outcome& cpu, const Outcome& gpu, const std::string& what) {
  ASSERT_EQ(cpu.mask, gpu.mask) << what;
  ASSERT_EQ(cpu.errors.size(), gpu.errors.size()) << what;
  for (std::size_t i = 0; i < cpu.errors.size(); ++i) ASSERT_EQ(cpu.errors[i], gpu.errors[i]) << what << " unit " << i;
  ASSERT_EQ(cpu.hybrid.size(), gpu.hybrid.size());
  for (std::size_t i = 0; i < cpu.hybrid.size(); ++i) {
    if (std::isnan(cpu.hybrid[i])) {
      ASSERT_TRUE(std::isnan(gpu.hybrid[i])) << what << ": gap element " << i << " written on the GPU";
    } else {
      ASSERT_LE(ulps_apart(cpu.hybrid[i], gpu.hybrid[i]), 1.0f) << what << " element " << i;
    }
  }
  ASSERT_EQ(cpu.stats.size(), gpu.stats.size());
  for (std::size_t l = 0; l < cpu.stats.size(); ++l) {
    EXPECT_EQ(cpu.stats[l].quantized, gpu.stats[l].quantized) << what;
    EXPECT_EQ(cpu.stats[l].mean_error, gpu.stats[l].mean_error) << what;
    EXPECT_EQ(cpu.stats[l].mean_error_quantized, gpu.stats[l].mean_error_quantized) << what;
  }
}

void check_parity(const LayerSet& set, const quant::SqOptions& options, const std::vector<std::uint64_t>& steps) {
  const std::string what = quant::to_string(options.quantizer) + "/" + quant::to_string(options.sampler) + "/" +
                           quant::to_string(options.probability) + "/" + quant::to_string(options.granularity) +
                           " r=" + std::to_string(options.ratio) + " seed=" + std::to_string(options.seed);
  quant::SqPipeline cpu(set.segments, options, sq::Device::cpu());
  quant::SqPipeline gpu(set.segments, options, sq::Device::cuda(0));
  const sq::Tensor d_weights = sq::Tensor::from_vector(set.weights, {set.size}, sq::Device::cuda(0));
  sq::Tensor d_hybrid({set.size}, sq::DType::f32, sq::Device::cuda(0));
  for (std::uint64_t step : steps) {
    const bool poison = options.sampler != quant::Sampler::frozen;
    expect_same(run_cpu(cpu, set, step), run_gpu(gpu, d_weights, d_hybrid, step, poison),
                what + " step " + std::to_string(step));
  }
  std::vector<float> q_cpu(set.weights.size());
  cpu.quantize_all(set.weights.data(), q_cpu.data(), nullptr);
  gpu.quantize_all(d_weights.data<float>(), d_hybrid.data<float>(), nullptr);
  const std::vector<float> q_gpu = d_hybrid.to_vector<float>();
  for (const auto& s : set.segments) {
    for (std::int64_t i = s.offset; i < s.offset + s.rows * s.cols; ++i) {
      ASSERT_LE(ulps_apart(q_cpu[static_cast<std::size_t>(i)], q_gpu[static_cast<std::size_t>(i)]), 1.0f) << what;
    }
  }
}

TEST(SqGpu, EveryQuantizerAndSamplerMatchesTheCpuOnRaggedLayers) {
  SQ_REQUIRE_GPU();
  const quant::Quantizer quantizers[] = {quant::Quantizer::bwn, quant::Quantizer::twn, quant::Quantizer::twn_caffe,
                                         quant::Quantizer::twn_channel, quant::Quantizer::kbit};
  const quant::Sampler samplers[] = {quant::Sampler::topk, quant::Sampler::roulette, quant::Sampler::sorted,
                                     quant::Sampler::frozen, quant::Sampler::caffe};
  const quant::ProbabilityFn fns[] = {quant::ProbabilityFn::linear, quant::ProbabilityFn::softmax,
                                      quant::ProbabilityFn::sigmoid, quant::ProbabilityFn::constant};
  int case_index = 0;
  for (quant::Quantizer q : quantizers) {
    for (quant::Sampler s : samplers) {
      const LayerSet set = random_layers(1000 + case_index, 12, 300, 600);
      quant::SqOptions options;
      options.quantizer = q;
      options.bits = 3 + case_index % 5;
      options.sampler = s;
      options.probability = fns[case_index % 4];
      options.ratio = case_index % 3 == 0 ? 0.875 : 0.5;
      options.seed = 77 + case_index;
      check_parity(set, options, {0, 1, 12345});
      ++case_index;
    }
  }
}

TEST(SqGpu, ElementGranularityMatchesTheCpu) {
  SQ_REQUIRE_GPU();
  for (quant::Sampler s : {quant::Sampler::topk, quant::Sampler::sorted, quant::Sampler::roulette}) {
    const LayerSet set = random_layers(2000 + static_cast<int>(s), 5, 64, 300);
    quant::SqOptions options;
    options.granularity = quant::Granularity::element;
    options.sampler = s;
    options.ratio = 0.75;
    options.seed = 5;
    check_parity(set, options, {3, 4});
  }
}

TEST(SqGpu, LargeLayersAndManySeedsMatchTheCpu) {
  SQ_REQUIRE_GPU();
  // A VGG-9-sized FC layer (element granularity: 2M units through the radix select) and the default options.
  LayerSet big;
  big.segments = {{0, 512, 4096}, {512 * 4096, 10, 512}};
  big.size = 512 * 4096 + 5120;
  big.weights.resize(static_cast<std::size_t>(big.size));
  for (std::int64_t i = 0; i < big.size; ++i) {
    big.weights[static_cast<std::size_t>(i)] = sq::philox_uniform_at(8, 1, static_cast<std::uint64_t>(i)) - 0.5f;
  }
  quant::SqOptions element;
  element.granularity = quant::Granularity::element;
  element.ratio = 0.5;
  check_parity(big, element, {7});
  for (std::uint64_t seed : {1ull, 2ull, 3ull, 0xfeedull}) {
    quant::SqOptions options;
    options.seed = seed;
    options.ratio = 0.75;
    check_parity(random_layers(3000 + seed, 40, 600, 1200), options, {0, 99, (1ull << 40) + 5});
  }
}

TEST(SqGpu, GraphReplayWithTheStepInDeviceMemoryEqualsEager) {
  SQ_REQUIRE_GPU();
  const LayerSet set = random_layers(4000, 20, 256, 600);
  quant::SqOptions options;
  options.ratio = 0.5;
  options.seed = 9;
  quant::SqPipeline graph_pipeline(set.segments, options, sq::Device::cuda(0));
  quant::SqPipeline eager(set.segments, options, sq::Device::cuda(0));
  quant::SqPipeline cpu(set.segments, options, sq::Device::cpu());
  const sq::Tensor d_weights = sq::Tensor::from_vector(set.weights, {set.size}, sq::Device::cuda(0));
  sq::Tensor d_hybrid({set.size}, sq::DType::f32, sq::Device::cuda(0));
  sq::Tensor d_eager({set.size}, sq::DType::f32, sq::Device::cuda(0));
  std::uint64_t* d_step = nullptr;
  SQ_CUDA_CHECK(cudaMalloc(&d_step, sizeof(std::uint64_t)));
  cudaStream_t stream;
  SQ_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  SQ_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  graph_pipeline.run(d_weights.data<float>(), d_hybrid.data<float>(), 0, stream, d_step);
  SQ_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  std::size_t nodes = 0;
  SQ_CUDA_CHECK(cudaGraphGetNodes(graph, nullptr, &nodes));
  EXPECT_EQ(static_cast<int>(nodes), graph_pipeline.launches_per_step()) << "a fixed number of launches per step";
  SQ_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  for (std::uint64_t step : {5ull, 6ull, 1000ull}) {
    SQ_CUDA_CHECK(cudaMemcpyAsync(d_step, &step, sizeof step, cudaMemcpyHostToDevice, stream));
    SQ_CUDA_CHECK(cudaGraphLaunch(exec, stream));
    SQ_CUDA_CHECK(cudaStreamSynchronize(stream));
    eager.run(d_weights.data<float>(), d_eager.data<float>(), step, nullptr);
    const Outcome c = run_cpu(cpu, set, step);
    EXPECT_EQ(graph_pipeline.mask_to_host(stream), eager.mask_to_host(nullptr)) << "step " << step;
    EXPECT_EQ(graph_pipeline.mask_to_host(stream), c.mask) << "step " << step;
    const std::vector<float> a = d_hybrid.to_vector<float>(), b = d_eager.to_vector<float>();
    for (const auto& s : set.segments) {
      for (std::int64_t i = s.offset; i < s.offset + s.rows * s.cols; ++i) {
        ASSERT_EQ(a[static_cast<std::size_t>(i)], b[static_cast<std::size_t>(i)]) << "step " << step;
      }
    }
  }
  SQ_CUDA_CHECK(cudaGraphExecDestroy(exec));
  SQ_CUDA_CHECK(cudaGraphDestroy(graph));
  SQ_CUDA_CHECK(cudaStreamDestroy(stream));
  SQ_CUDA_CHECK(cudaFree(d_step));
}

TEST(SqGpu, NanOrInfIsReportedAtTheSyncPoints) {
  SQ_REQUIRE_GPU();
  LayerSet set = random_layers(5000, 4, 32, 64);
  const quant::SqSegment& last = set.segments.back();
  set.weights[static_cast<std::size_t>(last.offset)] = std::numeric_limits<float>::infinity();
  quant::SqPipeline p(set.segments, quant::SqOptions{}, sq::Device::cuda(0));
  const sq::Tensor d_weights = sq::Tensor::from_vector(set.weights, {set.size}, sq::Device::cuda(0));
  sq::Tensor d_hybrid({set.size}, sq::DType::f32, sq::Device::cuda(0));
  EXPECT_NO_THROW(p.run(d_weights.data<float>(), d_hybrid.data<float>(), 0, nullptr)) << "no sync inside a step";
  try {
    p.stats(nullptr);
    FAIL() << "stats() did not report the Inf weight";
  } catch (const sq::Error& e) {
    EXPECT_NE(e.message().find("layer " + std::to_string(set.segments.size() - 1)), std::string::npos) << e.message();
  }
  EXPECT_NO_THROW(p.check_finite(nullptr)) << "the flag is cleared once reported";
  p.run(d_weights.data<float>(), d_hybrid.data<float>(), 1, nullptr);
  EXPECT_THROW(p.check_finite(nullptr), sq::Error);
}

}  // namespace
