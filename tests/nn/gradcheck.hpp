// Finite-difference gradient checks for sq::nn modules on the CPU: L = sum(output * R) for a fixed random R,
// central differences of L (accumulated in double) against backward()'s dL/dinput and dL/dparameters.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "sq/nn/module.hpp"
#include "sq/nn/parameter.hpp"

namespace sq_test {

struct GradCheckOptions {
  double eps = 1e-2;   // central-difference step (the layers compute in fp32)
  double rtol = 2e-2;  // per element: |num - ana| <= rtol * |ana| + atol_frac * max|ana|
  double atol_frac = 1e-2;
  double norm_tol = 1e-2;  // ||num - ana|| <= norm_tol * ||ana||
  std::uint32_t seed = 1234;
  // Makes the random input safe for the layer (e.g. keeps ReLU inputs away from 0); identity by default.
  std::function<void(std::vector<float>&)> fix_input;
};

inline double loss_of(const sq::Tensor& out, const std::vector<float>& r) {
  const float* y = out.data<float>();
  double l = 0.0;
  for (std::size_t i = 0; i < r.size(); ++i) l += double(y[i]) * r[i];
  return l;
}

inline void expect_gradients_match(const std::string& what, const std::vector<double>& numeric,
                                   const std::vector<float>& analytic, const GradCheckOptions& opt) {
  ASSERT_EQ(numeric.size(), analytic.size()) << what;
  double max_abs = 0.0, diff2 = 0.0, ana2 = 0.0;
  for (float a : analytic) max_abs = std::max(max_abs, std::fabs(double(a)));
  ASSERT_GT(max_abs, 0.0) << what << ": the analytic gradient is identically zero, the check would prove nothing";
  int bad = 0;
  for (std::size_t i = 0; i < numeric.size(); ++i) {
    const double d = numeric[i] - analytic[i];
    diff2 += d * d;
    ana2 += double(analytic[i]) * analytic[i];
    if (std::fabs(d) > opt.rtol * std::fabs(double(analytic[i])) + opt.atol_frac * max_abs && bad++ < 5) {
      ADD_FAILURE() << what << "[" << i << "]: numeric " << numeric[i] << " vs analytic " << analytic[i];
    }
  }
  EXPECT_LE(std::sqrt(diff2), opt.norm_tol * std::sqrt(ana2)) << what << ": relative gradient error too large";
}

// Sets the module up on the CPU, binds and initialises its parameters (gamma/beta-like constant initialisations are
// replaced by random values so the check sees them), then checks dL/dinput and dL/dparameter for every element.
inline void check_module_gradients(sq::nn::Module& module, const sq::Shape& input_shape,
                                   const GradCheckOptions& opt = {}) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  ctx.training = true;
  ctx.seed = 99;
  ctx.step = 5;
  const sq::Shape out_shape = module.setup(input_shape, ctx);
  std::vector<sq::nn::Parameter*> params;
  module.collect_parameters(params);
  sq::nn::ParameterArena arena;
  arena.bind(params, sq::Device::cpu());
  arena.initialise(opt.seed);
  std::mt19937 rng(opt.seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> uniform(0.5f, 1.5f);
  for (sq::nn::Parameter* p : params) {
    float* v = p->effective.data<float>();
    if (p->init == sq::nn::ParamInit::ones) {
      for (std::int64_t i = 0; i < p->effective.numel(); ++i) v[i] = uniform(rng);
    } else if (p->init == sq::nn::ParamInit::zeros) {
      for (std::int64_t i = 0; i < p->effective.numel(); ++i) v[i] = 0.5f * normal(rng);
    }
  }
  std::vector<float> x_host(static_cast<std::size_t>(sq::shape_numel(input_shape)));
  for (float& v : x_host) v = normal(rng);
  if (opt.fix_input) opt.fix_input(x_host);
  sq::Tensor x = sq::Tensor::from_vector(x_host, input_shape);
  std::vector<float> r(static_cast<std::size_t>(sq::shape_numel(out_shape)));
  for (float& v : r) v = normal(rng);
  const sq::Tensor r_tensor = sq::Tensor::from_vector(r, out_shape);

  module.forward(x, ctx);
  const std::vector<float> dx = module.backward(r_tensor, ctx).to_vector<float>();
  std::vector<std::vector<float>> dparams;
  for (sq::nn::Parameter* p : params) dparams.push_back(p->grad.to_vector<float>());

  auto numeric_of = [&](float* data, std::int64_t n) {
    std::vector<double> g(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      const float saved = data[i];
      data[i] = static_cast<float>(saved + opt.eps);
      const double lp = loss_of(module.forward(x, ctx), r);
      data[i] = static_cast<float>(saved - opt.eps);
      const double lm = loss_of(module.forward(x, ctx), r);
      data[i] = saved;
      g[static_cast<std::size_t>(i)] = (lp - lm) / (2 * opt.eps);
    }
    return g;
  };
  expect_gradients_match(module.type() + " dL/dinput", numeric_of(x.data<float>(), x.numel()), dx, opt);
  for (std::size_t k = 0; k < params.size(); ++k) {
    expect_gradients_match(module.type() + " dL/d" + params[k]->name,
                           numeric_of(params[k]->effective.data<float>(), params[k]->effective.numel()), dparams[k],
                           opt);
  }
}

}  // namespace sq_test
