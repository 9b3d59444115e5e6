// Philox4x32-10 exactly as cuRAND's device API computes it (curand_init / curand / curand4 / curand_uniform),
// written once as SQ_HOST_DEVICE code so the CPU path and CUDA kernels draw bit-identical numbers.
#pragma once

#include <cmath>
#include <cstdint>

#include "sq/detail/host_device.hpp"

namespace sq {

struct PhiloxCounter {
  std::uint32_t x, y, z, w;
};
struct PhiloxKey {
  std::uint32_t x, y;
};

namespace detail {
constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden-ratio key bump (Salmon et al. 2011)
constexpr std::uint32_t kPhiloxW1 = 0xBB67AE85u;
constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr std::uint32_t kPhiloxM1 = 0xCD9E8D57u;
// cuRAND's CURAND_2POW32_INV: uniforms are x * 2^-32 + 2^-33, so they lie in (0, 1].
constexpr float kTwoPow32Inv = 2.3283064e-10f;

SQ_HOST_DEVICE inline std::uint32_t mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t* hi) {
  const std::uint64_t product = static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b);
  *hi = static_cast<std::uint32_t>(product >> 32);
  return static_cast<std::uint32_t>(product);
}

SQ_HOST_DEVICE inline PhiloxCounter philox_round(PhiloxCounter c, PhiloxKey k) {
  std::uint32_t hi0, hi1;
  const std::uint32_t lo0 = mulhilo(kPhiloxM0, c.x, &hi0);
  const std::uint32_t lo1 = mulhilo(kPhiloxM1, c.z, &hi1);
  return {hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0};
}
}  // namespace detail

// The Philox4x32 bijection with 10 rounds: four 32-bit random words for one 128-bit counter.
SQ_HOST_DEVICE inline PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int round = 0; round < 9; ++round) {
    counter = detail::philox_round(counter, key);
    key.x += detail::kPhiloxW0;
    key.y += detail::kPhiloxW1;
  }
  return detail::philox_round(counter, key);
}

// cuRAND's mapping of a 32-bit word to a float in (0, 1]. The explicit fmaf matches what nvcc emits for
// cuRAND's `x * INV + INV/2` (contracted), so host and device agree to the bit.
SQ_HOST_DEVICE inline float philox_u32_to_uniform(std::uint32_t x) {
  return fmaf(static_cast<float>(x), detail::kTwoPow32Inv, detail::kTwoPow32Inv / 2.0f);
}

// The counter cuRAND's curand_init(seed, subsequence, offset) reaches: subsequence in the high 64 bits,
// offset / 4 in the low 64 bits; offset % 4 is the position inside the 4-word block.
SQ_HOST_DEVICE inline PhiloxCounter philox_counter_at(std::uint64_t subsequence, std::uint64_t block) {
  return {static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
          static_cast<std::uint32_t>(subsequence), static_cast<std::uint32_t>(subsequence >> 32)};
}

SQ_HOST_DEVICE inline PhiloxKey philox_key(std::uint64_t seed) {
  return {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
}

// Stateful generator with curandStatePhilox4_32_10_t's semantics.
class PhiloxState {
 public:
  SQ_HOST_DEVICE PhiloxState(std::uint64_t seed, std::uint64_t subsequence, std::uint64_t offset)
      : counter_(philox_counter_at(subsequence, 0)), key_(philox_key(seed)), position_(0) {
    skipahead(offset);
  }

  // Advances by n 32-bit outputs, as cuRAND's skipahead.
  SQ_HOST_DEVICE void skipahead(std::uint64_t n) {
    position_ += static_cast<unsigned>(n & 3u);
    n /= 4;
    if (position_ > 3) {
      n += 1;
      position_ -= 4;
    }
    increment(n);
    output_ = philox4x32_10(counter_, key_);
  }

  // curand(): the next 32-bit word.
  SQ_HOST_DEVICE std::uint32_t next_u32() {
    const std::uint32_t words[4] = {output_.x, output_.y, output_.z, output_.w};
    const std::uint32_t result = words[position_++];
    if (position_ == 4) {
      increment(1);
      output_ = philox4x32_10(counter_, key_);
      position_ = 0;
    }
    return result;
  }

  // curand4(): the next four words, including cuRAND's behaviour when not aligned to a block.
  SQ_HOST_DEVICE PhiloxCounter next_u32x4() {
    const PhiloxCounter current = output_;
    increment(1);
    output_ = philox4x32_10(counter_, key_);
    switch (position_) {
      case 1: return {current.y, current.z, current.w, output_.x};
      case 2: return {current.z, current.w, output_.x, output_.y};
      case 3: return {current.w, output_.x, output_.y, output_.z};
      default: return current;
    }
  }

  // curand_uniform(): a float in (0, 1].
  SQ_HOST_DEVICE float next_uniform() { return philox_u32_to_uniform(next_u32()); }

 private:
  // 128-bit counter += n (n < 2^64), with cuRAND's carry rules.
  SQ_HOST_DEVICE void increment(std::uint64_t n) {
    const std::uint32_t lo = static_cast<std::uint32_t>(n);
    std::uint32_t hi = static_cast<std::uint32_t>(n >> 32);
    counter_.x += lo;
    if (counter_.x < lo) ++hi;
    counter_.y += hi;
    if (hi <= counter_.y) return;
    if (++counter_.z) return;
    ++counter_.w;
  }

  PhiloxCounter counter_;
  PhiloxKey key_;
  PhiloxCounter output_{};
  unsigned position_;
};

// Stateless: the uniform that curand_init(seed, subsequence, offset) followed by one curand_uniform returns.
// Costs one Philox block; the random-access form every kernel and host twin in SQ-CUDA uses.
SQ_HOST_DEVICE inline float philox_uniform_at(std::uint64_t seed, std::uint64_t subsequence, std::uint64_t offset) {
  const PhiloxCounter block = philox4x32_10(philox_counter_at(subsequence, offset / 4), philox_key(seed));
  const unsigned lane = static_cast<unsigned>(offset & 3u);
  const std::uint32_t word = lane == 0 ? block.x : lane == 1 ? block.y : lane == 2 ? block.z : block.w;
  return philox_u32_to_uniform(word);
}

}  // namespace sq
