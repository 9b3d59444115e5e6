// Internal to the emulator's runtime (tests/emu/runtime): the state of a running block and its fibers, shared by
// the scheduler (scheduler.cpp), the warp operations (warp.cpp) and hazard reports (report.cpp).
#pragma once

#include <boost/context/detail/fcontext.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "sq_emu/cuda_emulation.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define SQ_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SQ_EMU_ASAN 1
#endif
#endif

namespace sq::emu::detail {

namespace bc = boost::context::detail;

enum class State { ready, barrier, warp, exited };

struct WarpPost {
  WarpKind kind;
  unsigned mask;
  std::uint64_t value;
  int arg, width;
};

struct Fiber {
  bc::fcontext_t context = nullptr;    // where the fiber resumes
  bc::fcontext_t scheduler = nullptr;  // where it returns to
  uint3 idx{0, 0, 0};
  int linear = 0;
  State state = State::ready;
  Site site{nullptr, 0};  // the barrier or warp operation it waits at
  WarpPost post{};
  std::uint64_t result = 0;
  char* stack = nullptr;  // lowest usable address (above the guard page)
  void* asan_fake_stack = nullptr;
};

struct BlockRun {
  const char* kernel = nullptr;
  dim3 grid, block;
  uint3 block_idx{0, 0, 0};
  int threads = 0;
  void (*body)(void*) = nullptr;
  void* context = nullptr;
  std::vector<Fiber>* fibers = nullptr;
  int barriers = 0;  // barriers completed by the block
  std::string hazard;
  unsigned char* dynamic = nullptr;
  std::size_t dynamic_bytes = 0;
};

extern Schedule g_schedule;
extern Limits g_limits;
extern std::vector<LaunchRecord> g_log;
extern cudaError_t g_last_error;
extern std::string g_last_error_text;

extern thread_local BlockRun* t_block;  // the block running on this OS thread (null outside a launch)
extern thread_local Fiber* t_fiber;     // the fiber running now (null in the scheduler)

// Hazard reports (report.cpp).
std::string where(const Site& site);
std::string coords(uint3 v);
std::string who(const BlockRun& b, const Fiber& f);
const char* kind_name(WarpKind k);
std::string hex(unsigned v);
std::string describe_wait(const BlockRun& b, const Fiber& f);
bool same_site(const Site& a, const Site& b);

// Fiber switches (scheduler.cpp).
void switch_to_scheduler(Fiber* f, bool exiting);
// Records the hazard and ends the fiber (by unwinding it): the scheduler throws the hazard.
[[noreturn]] void fail_in_fiber(Fiber* f, const std::string& message);
// The running fiber; aborts when called outside a kernel.
Fiber* running(const char* what);

}  // namespace sq::emu::detail
