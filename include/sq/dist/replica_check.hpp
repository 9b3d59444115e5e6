// Replica checks: every rank must hold bit-identical weights (same seed, same averaged gradients, same SGD), and
// so compute the same SQ selection. A 64-bit hash of the parameter arena compared across ranks every K steps
// detects a divergence cheaply (one gather of 8 bytes per rank). docs/DISTRIBUTED.md.
#pragma once

#include <cstdint>
#include <string>

#include "sq/dist/collective.hpp"

namespace sq::nn {
class Model;
}

namespace sq::dist {

// FNV-1a (64-bit) over bytes, and over the bytes of `n` floats.
constexpr std::uint64_t kHashSeed = 1469598103934665603ull;
std::uint64_t hash_bytes(const void* data, std::int64_t bytes, std::uint64_t seed = kHashSeed);
std::uint64_t hash_floats(const float* data, std::int64_t n, std::uint64_t seed = kHashSeed);

// Hash of the model's master weights (and, with `with_buffers`, its BN running statistics, which are replicated
// only with synchronised BN). Reads device memory: outside steps only.
std::uint64_t model_checksum(nn::Model& model, bool with_buffers);

// Compares `value` across ranks; throws sq::Error (the same on every rank) naming the ranks that differ from
// rank 0, `what` and `step`, when they are not all equal.
void check_identical(Collective& collective, std::uint64_t value, const std::string& what, std::uint64_t step,
                     const std::string& hint = "");

// check_identical(model_checksum(...)) with a message that says what to do.
void check_replicas(Collective& collective, nn::Model& model, bool with_buffers, std::uint64_t step);

}  // namespace sq::dist
