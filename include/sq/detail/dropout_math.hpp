// Dropout's randomness, shared by the kernel and its host twin: which Philox subsequence a (layer, step) pair
// draws from, and the keep rule. Element i of a layer's input uses philox_uniform_at(seed, subsequence, i).
#pragma once

#include <cstdint>

#include "sq/detail/host_device.hpp"

namespace sq::detail {

// splitmix64's finaliser: a bijection that spreads nearby (layer, step) pairs over the whole 64-bit space.
SQ_HOST_DEVICE inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A tag keeps dropout's subsequences apart from other users of the run seed (SQ sampling, augmentation).
constexpr std::uint64_t kDropoutDomain = 0xD80F0u;

SQ_HOST_DEVICE inline std::uint64_t dropout_subsequence(std::uint64_t layer_id, std::uint64_t step) {
  return mix64(layer_id ^ mix64(step ^ (kDropoutDomain << 40)));
}

// u is a Philox uniform in (0, 1]: P(u > p) = 1 - p, and p = 0 keeps every element.
SQ_HOST_DEVICE inline bool dropout_keep(float u, float p) {
  return u > p;
}

}  // namespace sq::detail
