// Host twin of kernels/sgd.cuh: the same update, same names, in sq::cpu.
#pragma once

#include <cstdint>

namespace sq::cpu {

// values, velocity: [numel] updated in place; [0, decayed_end) decays, [decayed_end, numel) does not.
void sgd_momentum_update(float* values, float* velocity, const float* grads, std::int64_t numel,
                         std::int64_t decayed_end, float lr, float momentum, float weight_decay);

}  // namespace sq::cpu
