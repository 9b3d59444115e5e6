// Names of the SQ options (CLI, checkpoints), their validation, and N_q (SQ_SPEC section 5).
#include "sq/detail/host_fp.hpp"  // first: no FMA contraction (results must match the kernels)

#include <algorithm>
#include <cmath>

#include "sq/core/error.hpp"
#include "sq/quant/options.hpp"

namespace sq::quant {
namespace {

template <class Enum, std::size_t N>
Enum parse_name(const std::string& name, const char* (&names)[N], const char* what) {
  for (std::size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<Enum>(i);
  }
  std::string accepted;
  for (std::size_t i = 0; i < N; ++i) accepted += (i ? ", " : "") + std::string(names[i]);
  SQ_FAIL("unknown " << what << " '" << name << "': use one of " << accepted);
}

const char* kQuantizerNames[] = {"bwn", "twn", "twn-caffe", "twn-channel", "kbit"};
const char* kProbabilityNames[] = {"constant", "linear", "softmax", "sigmoid"};
const char* kSamplerNames[] = {"topk", "roulette", "sorted", "frozen", "caffe"};
const char* kGranularityNames[] = {"channel", "element"};

}  // namespace

std::string to_string(Quantizer value) {
  return kQuantizerNames[static_cast<int>(value)];
}
std::string to_string(ProbabilityFn value) {
  return kProbabilityNames[static_cast<int>(value)];
}
std::string to_string(Sampler value) {
  return kSamplerNames[static_cast<int>(value)];
}
std::string to_string(Granularity value) {
  return kGranularityNames[static_cast<int>(value)];
}

Quantizer parse_quantizer(const std::string& name) {
  return parse_name<Quantizer>(name, kQuantizerNames, "quantizer");
}
ProbabilityFn parse_probability(const std::string& name) {
  return parse_name<ProbabilityFn>(name, kProbabilityNames, "SQ probability function");
}
Sampler parse_sampler(const std::string& name) {
  return parse_name<Sampler>(name, kSamplerNames, "SQ sampler");
}
Granularity parse_granularity(const std::string& name) {
  return parse_name<Granularity>(name, kGranularityNames, "SQ granularity");
}

void validate(const SqOptions& options) {
  SQ_CHECK(options.quantizer != Quantizer::kbit || (options.bits >= 2 && options.bits <= 8),
           "kbit quantizer needs 2..8 bits, got " << options.bits);
  SQ_CHECK(options.ratio >= 0.0 && options.ratio <= 1.0, "SQ ratio must lie in [0, 1], got " << options.ratio);
}

std::int64_t quantized_count(double ratio, std::int64_t units) {
  SQ_CHECK(ratio >= 0.0 && ratio <= 1.0, "SQ ratio must lie in [0, 1], got " << ratio);
  const auto full_precision = static_cast<std::int64_t>(std::floor((1.0 - ratio) * static_cast<double>(units) + 1e-9));
  return units - std::min(full_precision, units);
}

}  // namespace sq::quant
