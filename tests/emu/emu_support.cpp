// Seed of the emulated suite: fresh per run unless SQ_EMU_SEED is set; printed once so a failure can be replayed.
#include "emu_support.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace sq::emu::testing {

std::uint64_t suite_seed() {
  static const std::uint64_t seed = [] {
    const char* env = std::getenv("SQ_EMU_SEED");
    const std::uint64_t s =
        env ? std::strtoull(env, nullptr, 0)
            : static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) & 0xffffffffu;
    std::fprintf(stderr, "[emu] schedule and case seed %llu (replay with SQ_EMU_SEED=%llu)\n",
                 static_cast<unsigned long long>(s), static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

}  // namespace sq::emu::testing
