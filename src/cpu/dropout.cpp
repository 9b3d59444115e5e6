// Host twins of kernels/dropout.cu.
#include "cpu/dropout.hpp"

#include "sq/core/philox.hpp"
#include "sq/detail/dropout_math.hpp"

namespace sq::cpu {

void dropout_forward(float* y, std::uint8_t* mask, const float* x, std::int64_t n, float p, float scale,
                     std::uint64_t seed, std::uint64_t layer_id, std::uint64_t step, const std::uint64_t* step_ptr) {
  const std::uint64_t subsequence = detail::dropout_subsequence(layer_id, step_ptr ? *step_ptr : step);
  // One Philox block gives the uniforms of 4 consecutive elements: the words philox_uniform_at(seed, sub, i)
  // returns for i = 4t .. 4t+3, drawn as the kernel draws them.
  for (std::int64_t t = 0; 4 * t < n; ++t) {
    const PhiloxCounter r =
        philox4x32_10(philox_counter_at(subsequence, static_cast<std::uint64_t>(t)), philox_key(seed));
    const std::uint32_t words[4] = {r.x, r.y, r.z, r.w};
    for (int lane = 0; lane < 4 && 4 * t + lane < n; ++lane) {
      const std::int64_t i = 4 * t + lane;
      const bool keep = detail::dropout_keep(philox_u32_to_uniform(words[lane]), p);
      mask[i] = keep ? 1 : 0;
      y[i] = keep ? x[i] * scale : 0.f;
    }
  }
}

void dropout_backward(float* dx, const float* dy, const std::uint8_t* mask, std::int64_t n, float scale) {
  for (std::int64_t i = 0; i < n; ++i) dx[i] = mask[i] ? dy[i] * scale : 0.f;
}

}  // namespace sq::cpu
