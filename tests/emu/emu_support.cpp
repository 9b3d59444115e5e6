// Seed of the emulated suite: fresh per run unless SQ_EMU_SEED is set; printed once so a failure can be replayed.
// The schedules of a parity case (all three; one under the sanitizers).
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

std::vector<Schedule> parity_schedules() {
  std::vector<Schedule> all = all_schedules(suite_seed());
#if SQ_SANITIZED_BUILD
  for (const Schedule& s : all) {
    if (s.order == Order::shuffled) return {s};
  }
#endif
  return all;
}

}  // namespace sq::emu::testing
