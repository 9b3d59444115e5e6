// kernels/sq_quantize.cu, sq_select.cu and sq_hybrid.cu on the emulator against the host twins (src/cpu/sq_*,
// run through quant::run_step_cpu): every quantizer, sampler and probability, channel and element granularity,
// ragged layers with gaps, N_q of 0, 1, n - 1, n and in between, layers below and above the rank-select limit
// (1024 units: rank select, beyond: radix select), two steps (the frozen sampler keeps its draw), outputs
// poisoned first. Masks, errors, statistics, scales, thresholds and hybrid weights bit for bit, in every schedule.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "emu_kernels.hpp"
#include "emu_support.hpp"
#include "quant/sq_plan.hpp"
#include "quant/sq_steps.hpp"
#include "sq/core/error.hpp"

namespace {

using namespace sq::emu::testing;
namespace quant = sq::quant;
namespace detail = sq::detail;

struct LayerSet {
  std::vector<quant::SqSegment> segments;
  std::int64_t size = 0;
  std::vector<float> weights;
};

// `layers` layers of 1..max_rows x 1..max_cols (plus any fixed shapes) with gaps; weights of mixed scales,
// exact zeros and repeated values (ties for sorted / kbit).
LayerSet random_layers(std::uint64_t seed, int layers, int max_rows, int max_cols,
                       const std::vector<std::pair<int, int>>& fixed = {}) {
  LayerSet set;
  std::uint64_t draw = 0;
  const auto next = [&](int n) {
    return static_cast<int>(sq::philox_uniform_at(seed, 99, draw++) * static_cast<float>(n)) % n;
  };
  const auto add = [&](std::int64_t rows, std::int64_t cols) {
    set.size += next(5);
    set.segments.push_back({set.size, rows, cols});
    set.size += rows * cols;
  };
  for (int l = 0; l < layers; ++l) add(1 + next(max_rows), 1 + next(max_cols));
  for (const auto& [rows, cols] : fixed) add(rows, cols);
  set.size += next(5);
  set.weights.resize(static_cast<std::size_t>(set.size));
  for (std::int64_t i = 0; i < set.size; ++i) {
    const float u = sq::philox_uniform_at(seed, 100, static_cast<std::uint64_t>(i));
    float w = (2.0f * u - 1.0f) * (i % 7 == 0 ? 10.0f : 0.1f);
    if (i % 13 == 0) w = 0.0f;
    if (i % 17 == 0) w = 0.05f;
    set.weights[static_cast<std::size_t>(i)] = w;
  }
  return set;
}

// A plan and its workspace in host memory, set up as SqPipeline sets up its own.
struct Engine {
  quant::SqPlan plan;
  std::vector<double> buffer;  // 8-byte aligned storage of plan.bytes
  detail::SqWorkspaceView ws{};

  Engine(const LayerSet& set, const quant::SqOptions& options, const std::vector<std::int64_t>& n_q) {
    plan = quant::make_plan(set.segments, options);
    // The frozen sampler's stage lives in the layer descriptors (device memory), as SqPipeline::set_stage puts it.
    for (detail::SqLayerDesc& d : plan.layers) d.stage = options.seed % 7;
    for (std::size_t l = 0; l < plan.layers.size() && l < n_q.size(); ++l) {
      if (n_q[l] >= 0) plan.layers[l].n_q = std::min(n_q[l], plan.layers[l].units);
    }
    buffer.assign(plan.bytes / sizeof(double) + 2, 0.0);
    ws = quant::carve_workspace(plan, buffer.data());
    std::memcpy(const_cast<detail::SqLayerDesc*>(ws.layers), plan.layers.data(),
                plan.layers.size() * sizeof(detail::SqLayerDesc));
    std::fill(ws.frozen_redraw, ws.frozen_redraw + plan.layers.size(), 1u);
    *ws.nonfinite = detail::kNoNonfinite;
  }

  // Every output array to 0xff bytes (the mask too unless a frozen draw must survive).
  void poison(bool mask) {
    const std::int64_t rows = plan.total_rows, units = plan.total_units;
    for (double* a : {ws.row_sum_abs, ws.row_sum, ws.row_max_abs, ws.row_deviation, ws.row_scale, ws.row_threshold}) {
      std::memset(a, 0xff, static_cast<std::size_t>(rows) * sizeof(double));
    }
    std::memset(ws.unit_error, 0xff, static_cast<std::size_t>(units) * sizeof(double));
    std::memset(ws.unit_key, 0xff, static_cast<std::size_t>(units) * sizeof(std::uint64_t));
    if (mask) std::memset(ws.mask, 0xff, static_cast<std::size_t>(units));
    if (plan.total_tree) std::memset(ws.tree, 0xff, static_cast<std::size_t>(plan.total_tree) * sizeof(double));
    std::memset(ws.layer_stats, 0xff, plan.layers.size() * detail::kStatSlots * sizeof(double));
  }

  // The CUDA launch sequence of quant::run_step_cuda, on the emulated launchers.
  void run_emulated(const float* w, float* hybrid, std::uint64_t step, const std::uint64_t* device_step,
                    bool quantize_all) {
    if (plan.separate_row_sums) sq::cuda_emu::sq_row_sums(ws, w, plan.deviation_pass, nullptr);
    if (plan.deviation_pass) sq::cuda_emu::sq_row_deviation(ws, w, nullptr);
    sq::cuda_emu::sq_row_quantize(ws, w, plan.config, plan.separate_row_sums, nullptr);
    if (!quantize_all) sq::cuda_emu::sq_select(ws, plan.config, step, device_step, nullptr);
    sq::cuda_emu::sq_hybrid(hybrid, ws, w, plan.config, quantize_all, nullptr);
  }

  template <class T>
  std::vector<T> get(const T* p, std::int64_t n) const {
    return std::vector<T>(p, p + n);
  }
};

struct Outcome {
  std::vector<float> hybrid;
  std::vector<std::uint8_t> mask;
  std::vector<double> errors, stats, scale, threshold;
};

Outcome outcome(const Engine& e, std::vector<float> hybrid) {
  return {std::move(hybrid),
          e.get(e.ws.mask, e.plan.total_units),
          e.get(e.ws.unit_error, e.plan.total_units),
          e.get(e.ws.layer_stats, static_cast<std::int64_t>(e.plan.layers.size()) * detail::kStatSlots),
          e.get(e.ws.row_scale, e.plan.total_rows),
          e.get(e.ws.row_threshold, e.plan.total_rows)};
}

void expect_same(const Outcome& twin, const Outcome& emu) {
  EXPECT_TRUE(same_bits(twin.mask, emu.mask)) << "mask";
  EXPECT_TRUE(same_bits(twin.errors, emu.errors)) << "unit errors";
  EXPECT_TRUE(same_bits(twin.stats, emu.stats)) << "layer statistics";
  EXPECT_TRUE(same_bits(twin.scale, emu.scale)) << "row scales";
  EXPECT_TRUE(same_bits(twin.threshold, emu.threshold)) << "row thresholds";
  EXPECT_TRUE(same_bits(twin.hybrid, emu.hybrid)) << "hybrid weights (gaps stay NaN)";
}

Bytes bytes_of(const Outcome& o) {
  Bytes b;
  append(b, o.hybrid);
  append(b, o.mask);
  append(b, o.errors);
  append(b, o.stats);
  return b;
}

// N_q per layer: 0, 1, n - 1, n, then the ratio's own (-1) in turn.
std::vector<std::int64_t> edge_counts(const quant::SqPlan& plan, int shift) {
  std::vector<std::int64_t> n_q;
  for (std::size_t l = 0; l < plan.layers.size(); ++l) {
    const std::int64_t n = plan.layers[l].units;
    const std::int64_t choices[] = {0, 1, n - 1, n, -1};
    n_q.push_back(choices[(l + static_cast<std::size_t>(shift)) % 5]);
  }
  return n_q;
}

void check(const LayerSet& set, const quant::SqOptions& options, int shift, const std::string& what) {
  const std::vector<std::int64_t> n_q = edge_counts(quant::make_plan(set.segments, options), shift);
  const std::vector<std::uint64_t> steps = {0, 1 + suite_seed() % 1000};
  // Twin: every step, and quantize_all.
  Engine twin(set, options, n_q);
  std::vector<Outcome> expected;
  for (std::uint64_t step : steps) {
    std::vector<float> hybrid(set.weights.size(), std::numeric_limits<float>::quiet_NaN());
    quant::run_step_cpu(twin.plan, twin.ws, set.weights.data(), hybrid.data(), step, false);
    expected.push_back(outcome(twin, std::move(hybrid)));
  }
  std::vector<float> all_twin(set.weights.size(), std::numeric_limits<float>::quiet_NaN());
  quant::run_step_cpu(twin.plan, twin.ws, set.weights.data(), all_twin.data(), 0, true);
  in_every_schedule(what, [&] {
    Engine emu(set, options, n_q);
    Bytes out;
    for (std::size_t k = 0; k < steps.size(); ++k) {
      SCOPED_TRACE("step " + std::to_string(steps[k]));
      emu.poison(k == 0 || options.sampler != quant::Sampler::frozen);
      std::vector<float> hybrid(set.weights.size(), std::numeric_limits<float>::quiet_NaN());
      // The second step reads the step from "device memory", as a captured graph does.
      const std::uint64_t device_step = steps[k];
      emu.run_emulated(set.weights.data(), hybrid.data(), k == 0 ? steps[k] : 0, k == 0 ? nullptr : &device_step,
                       false);
      EXPECT_EQ(*emu.ws.nonfinite, detail::kNoNonfinite);
      const Outcome o = outcome(emu, std::move(hybrid));
      expect_same(expected[k], o);
      append(out, bytes_of(o));
    }
    std::vector<float> all(set.weights.size(), std::numeric_limits<float>::quiet_NaN());
    emu.run_emulated(set.weights.data(), all.data(), 0, nullptr, true);
    EXPECT_TRUE(same_bits(all_twin, all)) << "quantize_all";
    append(out, all);
    return out;
  });
}

const quant::Quantizer kQuantizers[] = {quant::Quantizer::bwn, quant::Quantizer::twn, quant::Quantizer::twn_caffe,
                                        quant::Quantizer::twn_channel, quant::Quantizer::kbit};
const quant::Sampler kSamplers[] = {quant::Sampler::topk, quant::Sampler::roulette, quant::Sampler::sorted,
                                    quant::Sampler::frozen, quant::Sampler::caffe};
const quant::ProbabilityFn kProbabilities[] = {quant::ProbabilityFn::linear, quant::ProbabilityFn::softmax,
                                               quant::ProbabilityFn::sigmoid, quant::ProbabilityFn::constant};

std::string name(const quant::SqOptions& o) {
  return quant::to_string(o.quantizer) + "/" + quant::to_string(o.sampler) + "/" + quant::to_string(o.probability) +
         "/" + quant::to_string(o.granularity) + " bits " + std::to_string(o.bits) + " seed " + std::to_string(o.seed);
}

TEST(EmuSq, EveryQuantizerSamplerAndProbabilityMatchesTheTwinPerChannel) {
  int index = 0;
  for (quant::Quantizer q : kQuantizers) {
    for (quant::Sampler s : kSamplers) {
      quant::SqOptions options;
      options.quantizer = q;
      options.sampler = s;
      options.probability = kProbabilities[(static_cast<int>(q) + static_cast<int>(s)) % 4];
      options.bits = 2 + index % 7;
      options.ratio = index % 2 ? 0.5 : 0.875;
      options.seed = suite_seed() + static_cast<std::uint64_t>(index);
      const LayerSet set = random_layers(options.seed, 5, 9, 300);
      check(set, options, index, name(options));
      ++index;
    }
  }
}

TEST(EmuSq, ElementGranularityOnBothSidesOfTheRankSelectLimit) {
  int index = 0;
  for (quant::Sampler s : kSamplers) {
    for (quant::ProbabilityFn p : {kProbabilities[index % 4], kProbabilities[(index + 2) % 4]}) {
      quant::SqOptions options;
      options.granularity = quant::Granularity::element;
      options.quantizer = kQuantizers[index % 5];
      options.sampler = s;
      options.probability = p;
      options.bits = 3;
      options.ratio = 0.75;
      options.seed = suite_seed() + 100 + static_cast<std::uint64_t>(index);
      // Small layers and one of exactly 1024 units (rank select), 1025 and 6 x 301 = 1806 units (radix select),
      // with N_q cycling through the edges, so both paths see k = 1, n - 1 and the ratio's k.
      const LayerSet set = random_layers(options.seed, 3, 5, 90, {{6, 301}, {1, 1024}, {1, 1025}});
      check(set, options, index, name(options));
      ++index;
    }
  }
}

TEST(EmuSq, ANonFiniteWeightIsFlaggedWithItsLowestRow) {
  LayerSet set = random_layers(suite_seed() + 7, 3, 6, 40);
  const quant::SqSegment& last = set.segments.back();
  const std::int64_t bad_row = last.rows < 2 ? 0 : 1;  // an Inf in the layer's second row when it has one
  set.weights[static_cast<std::size_t>(last.offset + bad_row * last.cols)] = std::numeric_limits<float>::infinity();
  if (last.rows > 2) set.weights[static_cast<std::size_t>(last.offset + 2 * last.cols)] = std::nanf("");
  quant::SqOptions options;
  options.ratio = 0.5;
  Engine twin(set, options, {});
  std::vector<float> hybrid(set.weights.size());
  EXPECT_THROW(quant::run_step_cpu(twin.plan, twin.ws, set.weights.data(), hybrid.data(), 0, false), sq::Error);
  const std::int64_t row = twin.plan.layers.back().row_begin + bad_row;
  in_every_schedule("nonfinite", [&] {
    Engine emu(set, options, {});
    emu.run_emulated(set.weights.data(), hybrid.data(), 0, nullptr, false);
    EXPECT_EQ(*emu.ws.nonfinite, static_cast<std::uint32_t>(row));
    return Bytes{};
  });
}

}  // namespace
