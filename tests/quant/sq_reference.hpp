// Naive, obviously correct reference of SQ_SPEC sections 3-4 for the quant tests (plain loops, sequential sums),
// plus small helpers: random weights and a host workspace to drive the selection twin with chosen errors.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "quant/sq_plan.hpp"
#include "sq/core/philox.hpp"
#include "sq/quant/options.hpp"

namespace sq::test {

struct RefLayer {
  std::vector<float> q;       // quantized weights, m x n
  std::vector<double> error;  // e per row
};

// Quantizes an m x n matrix exactly as SQ_SPEC section 3 states.
inline RefLayer reference_quantize(const std::vector<float>& w, std::int64_t m, std::int64_t n,
                                   quant::Quantizer quantizer, int bits = 2) {
  RefLayer out{std::vector<float>(w.size()), std::vector<double>(static_cast<std::size_t>(m))};
  double layer_abs = 0, layer_sum = 0;
  for (float x : w) {
    layer_abs += std::fabs(x);
    layer_sum += x;
  }
  const double mean = layer_sum / static_cast<double>(w.size());
  double deviation = 0;
  for (float x : w) deviation += std::fabs(x - mean);
  for (std::int64_t i = 0; i < m; ++i) {
    const float* row = w.data() + i * n;
    float* q = out.q.data() + i * n;
    double row_abs = 0, row_max = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      row_abs += std::fabs(row[j]);
      row_max = std::max(row_max, static_cast<double>(std::fabs(row[j])));
    }
    if (quantizer == quant::Quantizer::bwn) {
      const double a = row_abs / static_cast<double>(n);
      for (std::int64_t j = 0; j < n; ++j) q[j] = static_cast<float>(row[j] >= 0 ? a : -a);
    } else if (quantizer == quant::Quantizer::kbit) {
      const int levels = (1 << (bits - 1)) - 1;
      const double s = row_max / levels;
      for (std::int64_t j = 0; j < n; ++j) {
        const double level = s == 0 ? 0 : std::clamp(std::round(row[j] / s), -double(levels), double(levels));
        q[j] = static_cast<float>(s * level);
      }
    } else {
      double d = 0.7 * layer_abs / static_cast<double>(w.size());
      if (quantizer == quant::Quantizer::twn_caffe) d = 0.7 * deviation / static_cast<double>(w.size());
      if (quantizer == quant::Quantizer::twn_channel) d = 0.7 * row_abs / static_cast<double>(n);
      double above = 0;
      int count = 0;
      for (std::int64_t j = 0; j < n; ++j) {
        if (std::fabs(row[j]) > d) {
          above += std::fabs(row[j]);
          ++count;
        }
      }
      const double a = count ? above / count : 0.0;
      for (std::int64_t j = 0; j < n; ++j) {
        q[j] = std::fabs(row[j]) > d ? static_cast<float>(row[j] > 0 ? a : -a) : 0.0f;
      }
    }
    double err = 0;
    for (std::int64_t j = 0; j < n; ++j) err += std::fabs(static_cast<double>(row[j]) - q[j]);
    out.error[static_cast<std::size_t>(i)] = row_abs > 0 ? err / row_abs : 0.0;
  }
  return out;
}

// p from e with libm's exp (the library uses its own exp; they must agree to ~1e-15).
inline std::vector<double> reference_probabilities(const std::vector<double>& e, quant::ProbabilityFn fn) {
  std::vector<double> f(e.size()), g(e.size());
  double f_max = 0, total = 0;
  for (std::size_t i = 0; i < e.size(); ++i) f_max = std::max(f_max, f[i] = 1.0 / (e[i] + 1e-7));
  for (std::size_t i = 0; i < e.size(); ++i) {
    switch (fn) {
      case quant::ProbabilityFn::constant: g[i] = 1; break;
      case quant::ProbabilityFn::linear: g[i] = f[i]; break;
      case quant::ProbabilityFn::softmax: g[i] = std::exp(f[i] - f_max); break;
      case quant::ProbabilityFn::sigmoid: g[i] = 1 / (1 + std::exp(-f[i])); break;
    }
    total += g[i];
  }
  for (double& v : g) v /= total;
  return g;
}

// Uniform weights in (-scale, scale) from Philox (deterministic per seed).
inline std::vector<float> random_weights(std::int64_t count, std::uint64_t seed, float scale = 1.0f) {
  std::vector<float> w(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    w[static_cast<std::size_t>(i)] = scale * (2.0f * philox_uniform_at(seed, 7, static_cast<std::uint64_t>(i)) - 1.0f);
  }
  return w;
}

// A host workspace for one layer of `units` units whose errors the test sets directly.
struct HostSelection {
  quant::SqPlan plan;
  std::vector<unsigned char> bytes;
  detail::SqWorkspaceView ws{};

  HostSelection(std::int64_t units, quant::SqOptions options) {
    plan = quant::make_plan({{0, units, 1}}, options);
    bytes.assign(plan.bytes, 0);
    ws = quant::carve_workspace(plan, bytes.data());
    auto* layers = const_cast<detail::SqLayerDesc*>(ws.layers);
    for (std::size_t l = 0; l < plan.layers.size(); ++l) layers[l] = plan.layers[l];
    ws.frozen_redraw[0] = 1;
  }
  void set_n_q(std::int64_t n_q) { const_cast<detail::SqLayerDesc*>(ws.layers)[0].n_q = n_q; }
  void set_stage(std::uint64_t stage) { const_cast<detail::SqLayerDesc*>(ws.layers)[0].stage = stage; }
};

}  // namespace sq::test
