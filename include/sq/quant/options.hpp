// SQ options (quantizer, probability function, sampler, granularity, ratio, seed), layer segments and per-layer
// statistics: the vocabulary shared by SqPipeline, the raw-pointer API, the CLI and checkpoints.
#pragma once

#include <cstdint>
#include <string>

namespace sq::quant {

// SQ_SPEC section 3. "twn-caffe": threshold from mean |W - mean(W)|; "twn-channel": one threshold per row.
enum class Quantizer { bwn, twn, twn_caffe, twn_channel, kbit };
// SQ_SPEC section 4: g(f) with f = 1 / (e + 1e-7).
enum class ProbabilityFn { constant, linear, softmax, sigmoid };
// SQ_SPEC section 5.
enum class Sampler { topk, roulette, sorted, frozen, caffe };
// channel: a unit is a row (output channel); element: a unit is one weight.
enum class Granularity { channel, element };

// Names used on the command line and in checkpoints: "bwn", "twn", "twn-caffe", "twn-channel", "kbit"; "constant",
// "linear", "softmax", "sigmoid"; "topk", "roulette", "sorted", "frozen", "caffe"; "channel", "element".
// parse_* throw sq::Error listing the accepted names.
std::string to_string(Quantizer value);
std::string to_string(ProbabilityFn value);
std::string to_string(Sampler value);
std::string to_string(Granularity value);
Quantizer parse_quantizer(const std::string& name);
ProbabilityFn parse_probability(const std::string& name);
Sampler parse_sampler(const std::string& name);
Granularity parse_granularity(const std::string& name);

struct SqOptions {
  Quantizer quantizer = Quantizer::twn;
  int bits = 2;  // kbit only: 2..8
  ProbabilityFn probability = ProbabilityFn::linear;
  Sampler sampler = Sampler::topk;
  Granularity granularity = Granularity::channel;
  double ratio = 1.0;  // SQ ratio r in [0, 1]
  std::uint64_t seed = 0;
};

// Throws sq::Error when an option is out of range (bits outside 2..8 for kbit, ratio outside [0, 1]).
void validate(const SqOptions& options);

// One quantized weight in a buffer: element offset, rows (output channels) and cols (elements per row).
struct SqSegment {
  std::int64_t offset;
  std::int64_t rows;
  std::int64_t cols;
};

struct SqLayerStats {
  std::int64_t units;           // rows (channel granularity) or weights (element granularity)
  std::int64_t quantized;       // N_q: units replaced by their quantized values this step
  double mean_error;            // mean e over all units
  double mean_error_quantized;  // over quantized units (0 when none)
  double mean_error_fp;         // over full-precision units (0 when none)
};

// SQ_SPEC section 5: N_q = m - floor((1 - r) m + 1e-9), the number of units quantized out of m.
std::int64_t quantized_count(double ratio, std::int64_t units);

}  // namespace sq::quant
