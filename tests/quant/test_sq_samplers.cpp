// Samplers against exact distributions: an enumerator of sampling without replacement gives every subset's
// probability; topk and roulette frequencies over many steps (fixed seeds) must match within 5 binomial standard
// errors, and each other. Also caffe's definition, constant p, and the p = 0 guards.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "cpu/sq_select.hpp"
#include "sq_reference.hpp"

namespace {

namespace quant = sq::quant;
using Subsets = std::map<unsigned, double>;  // bit mask of chosen units -> probability or frequency

// Exact law of the set chosen by `draws` sequential draws without replacement, weights w (renormalised).
void enumerate(const std::vector<double>& w, int draws, unsigned chosen, double probability, Subsets& out) {
  if (draws == 0) {
    out[chosen] += probability;
    return;
  }
  double remaining = 0;
  for (std::size_t i = 0; i < w.size(); ++i) remaining += (chosen >> i & 1u) ? 0.0 : w[i];
  for (std::size_t i = 0; i < w.size(); ++i) {
    if ((chosen >> i & 1u) || w[i] == 0) continue;
    enumerate(w, draws - 1, chosen | 1u << i, probability * w[i] / remaining, out);
  }
}

Subsets exact_subsets(const std::vector<double>& w, int draws) {
  Subsets out;
  enumerate(w, draws, 0u, 1.0, out);
  return out;
}

std::vector<double> inclusion(const Subsets& subsets, std::size_t m) {
  std::vector<double> p(m, 0.0);
  for (const auto& [set, prob] : subsets)
    for (std::size_t i = 0; i < m; ++i) p[i] += (set >> i & 1u) ? prob : 0.0;
  return p;
}

// Errors whose linear probabilities are proportional to w: f_i = 1 / (e_i + 1e-7) = w_i.
std::vector<double> errors_for(const std::vector<double>& w) {
  std::vector<double> e;
  for (double v : w) e.push_back(1.0 / v - 1e-7);
  return e;
}

// Frequencies of the quantized set over `trials` steps.
Subsets sample(quant::Sampler sampler, const std::vector<double>& errors, std::int64_t n_q, int trials,
               std::uint64_t seed, quant::ProbabilityFn fn = quant::ProbabilityFn::linear) {
  quant::SqOptions options;
  options.sampler = sampler;
  options.probability = fn;
  options.seed = seed;
  sq::test::HostSelection host(static_cast<std::int64_t>(errors.size()), options);
  host.set_n_q(n_q);
  for (std::size_t i = 0; i < errors.size(); ++i) host.ws.unit_error[i] = errors[i];
  Subsets freq;
  for (int t = 0; t < trials; ++t) {
    sq::cpu::sq_select(host.ws, host.plan.config, static_cast<std::uint64_t>(t));
    unsigned set = 0;
    for (std::size_t i = 0; i < errors.size(); ++i) set |= host.ws.mask[i] ? 1u << i : 0u;
    freq[set] += 1.0 / trials;
  }
  return freq;
}

// Every subset's frequency within 5 standard errors of its probability (and no impossible subset drawn).
void expect_matches(const Subsets& freq, const Subsets& exact, int trials, const char* what) {
  for (const auto& [set, f] : freq) EXPECT_TRUE(exact.count(set)) << what << ": drew impossible set " << set;
  for (const auto& [set, p] : exact) {
    const double f = freq.count(set) ? freq.at(set) : 0.0;
    EXPECT_NEAR(f, p, 5 * std::sqrt(p * (1 - p) / trials) + 1e-12) << what << ": set " << set;
  }
}

TEST(SqSamplers, EnumeratorReproducesTheSpecsInclusionProbabilities) {
  const std::vector<double> w = {0.1, 0.2, 0.3, 0.4};
  const std::vector<double> two = inclusion(exact_subsets(w, 2), 4), three = inclusion(exact_subsets(w, 3), 4);
  const double want2[] = {0.2345238095, 0.4412698413, 0.6083333333, 0.7158730159};
  const double want3[] = {0.4488095238, 0.7587301587, 0.8702380952, 0.9222222222};
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(two[i], want2[i], 1e-10);
    EXPECT_NEAR(three[i], want3[i], 1e-10);
  }
}

TEST(SqSamplers, TopkAndRouletteMatchTheSpecsExample) {
  const std::vector<double> w = {0.1, 0.2, 0.3, 0.4};
  const int trials = 40000;
  for (int n_q : {2, 3}) {
    const Subsets exact = exact_subsets(w, n_q);
    expect_matches(sample(quant::Sampler::topk, errors_for(w), n_q, trials, 1), exact, trials, "topk");
    expect_matches(sample(quant::Sampler::roulette, errors_for(w), n_q, trials, 2), exact, trials, "roulette");
  }
}

TEST(SqSamplers, TopkAndRouletteMatchEnumeratedLawsOnSixUnits) {
  const std::vector<double> w = {0.05, 0.4, 0.1, 0.2, 0.15, 0.1};
  const int trials = 20000;
  for (int n_q = 1; n_q <= 5; ++n_q) {
    const Subsets exact = exact_subsets(w, n_q);
    const Subsets topk = sample(quant::Sampler::topk, errors_for(w), n_q, trials, 10 + n_q);
    const Subsets roulette = sample(quant::Sampler::roulette, errors_for(w), n_q, trials, 20 + n_q);
    expect_matches(topk, exact, trials, "topk");
    expect_matches(roulette, exact, trials, "roulette");
    for (const auto& [set, p] : exact) {  // and each other
      const double a = topk.count(set) ? topk.at(set) : 0.0, b = roulette.count(set) ? roulette.at(set) : 0.0;
      EXPECT_NEAR(a, b, 5 * std::sqrt(2 * p * (1 - p) / trials) + 1e-12) << "topk vs roulette, set " << set;
    }
  }
}

TEST(SqSamplers, ConstantProbabilityIsUniformOverSubsets) {
  const std::vector<double> e = {0.1, 0.9, 0.5, 0.3, 0.7};
  const int trials = 20000;
  const Subsets exact = exact_subsets(std::vector<double>(5, 1.0), 2);
  EXPECT_EQ(exact.size(), 10u);
  expect_matches(sample(quant::Sampler::topk, e, 2, trials, 3, quant::ProbabilityFn::constant), exact, trials,
                 "topk constant");
}

TEST(SqSamplers, CaffeKeepsFullPrecisionRowsDrawnInProportionToTheirError) {
  const std::vector<double> e = {0.1, 0.5, 0.2, 0.0, 0.7};
  const int trials = 20000;
  const int n_q = 3;  // N_fp = 2 rows stay full precision, drawn by roulette with p proportional to e
  const Subsets fp = exact_subsets(e, 5 - n_q);
  Subsets quantized;
  for (const auto& [set, p] : fp) quantized[~set & 31u] += p;
  expect_matches(sample(quant::Sampler::caffe, e, n_q, trials, 4), quantized, trials, "caffe");
  // All errors zero: no weight anywhere, so the lowest-index remaining rows stay full precision.
  const Subsets zero = sample(quant::Sampler::caffe, std::vector<double>(5, 0.0), n_q, 50, 5);
  ASSERT_EQ(zero.size(), 1u);
  EXPECT_EQ(zero.begin()->first, 0b11100u);
}

TEST(SqSamplers, ZeroProbabilityUnitsComeLastAndByIndex) {
  // softmax: e = 0 has f = 1e7, so the others get exp(2 - 1e7) = 0. Unit 0 is certain, then ties by index.
  const std::vector<double> e = {0.0, 0.5, 0.5, 0.5, 0.5};
  for (quant::Sampler s : {quant::Sampler::topk, quant::Sampler::roulette}) {
    const Subsets got = sample(s, e, 3, 50, 6, quant::ProbabilityFn::softmax);
    ASSERT_EQ(got.size(), 1u) << quant::to_string(s);
    EXPECT_EQ(got.begin()->first, 0b00111u) << quant::to_string(s);
  }
}

TEST(SqSamplers, FrozenIsATopkDrawKeyedByTheStage) {
  const std::vector<double> w = {0.1, 0.2, 0.3, 0.4};
  quant::SqOptions options;
  options.sampler = quant::Sampler::frozen;
  Subsets freq;
  const int stages = 20000;
  for (int stage = 0; stage < stages; ++stage) {
    sq::test::HostSelection host(4, options);
    host.set_n_q(2);
    host.set_stage(static_cast<std::uint64_t>(stage));
    const std::vector<double> e = errors_for(w);
    for (int i = 0; i < 4; ++i) host.ws.unit_error[i] = e[static_cast<std::size_t>(i)];
    sq::cpu::sq_select(host.ws, host.plan.config, 0);
    unsigned set = 0;
    for (int i = 0; i < 4; ++i) set |= host.ws.mask[i] ? 1u << i : 0u;
    freq[set] += 1.0 / stages;
  }
  expect_matches(freq, exact_subsets(w, 2), stages, "frozen over stages");
}

}  // namespace
