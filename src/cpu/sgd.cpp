// Host twin of the SGD-with-momentum kernel: the same per-element formula (sq/detail/sgd.hpp) in a plain loop.
#include "sq/detail/host_fp.hpp"  // first: no FMA contraction (results must match the kernel's --fmad=false)

#include "cpu/sgd.hpp"

#include "cpu/parallel.hpp"
#include "sq/detail/sgd.hpp"

namespace sq::cpu {

void sgd_momentum_update(float* values, float* velocity, const float* grads, std::int64_t numel,
                         std::int64_t decayed_end, float lr, float momentum, float weight_decay) {
  parallel_blocks(numel, std::int64_t(1) << 14, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      sq::detail::sgd_momentum_element(values[i], velocity[i], grads[i], lr, momentum,
                                       i < decayed_end ? weight_decay : 0.0f);
    }
  });
}

}  // namespace sq::cpu
