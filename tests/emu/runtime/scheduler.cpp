// The emulator's scheduler: CUDA threads as fibers (Boost.Context's fcontext, a fixed stack per thread with a
// guard page), a block's threads on one OS thread, the blocks of a grid one after another in the schedule's
// order. Between two barriers every ready thread runs until it reaches the next barrier, warp operation or its
// end, in the schedule's thread order (drawn afresh per barrier interval for the shuffle). At each barrier the
// block is checked: every thread that has not exited waits at the same __syncthreads, and none exited instead.
#include <sys/mman.h>

#include <boost/context/detail/fcontext.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/internal.hpp"

#if defined(SQ_EMU_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

// Bounds of the section holding every __shared__ variable (sq_emu/cuda_emulation.hpp), defined by the linker.
extern "C" char __start_sq_emu_shared[] __attribute__((weak, visibility("hidden")));
extern "C" char __stop_sq_emu_shared[] __attribute__((weak, visibility("hidden")));

namespace sq::emu::detail {

thread_local BlockRun* t_block = nullptr;
thread_local Fiber* t_fiber = nullptr;

namespace {

// Thrown through a fiber's own frames after it recorded a hazard (never leaves the fiber).
struct FiberAbort {};

#if defined(SQ_EMU_ASAN)
constexpr std::size_t kStackBytes = 1u << 20;  // instrumented frames are several times larger
#else
constexpr std::size_t kStackBytes = 256u << 10;
#endif
constexpr std::size_t kGuardBytes = 4096;

thread_local std::vector<char*> t_stacks;
thread_local std::vector<Fiber> t_fibers;
thread_local bool t_stacks_dirty = false;
#if defined(SQ_EMU_ASAN)
thread_local const void* t_scheduler_stack = nullptr;
thread_local std::size_t t_scheduler_stack_bytes = 0;
#endif

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Thread (or block) order for one barrier interval.
void make_order(std::vector<int>& order, std::uint64_t salt) {
  const int n = static_cast<int>(order.size());
  for (int i = 0; i < n; ++i) order[i] = g_schedule.order == Order::reverse ? n - 1 - i : i;
  if (g_schedule.order != Order::shuffled) return;
  std::uint64_t state = splitmix(g_schedule.seed ^ splitmix(salt));
  for (int i = n - 1; i > 0; --i) {
    state = splitmix(state);
    const int j = static_cast<int>(state % static_cast<std::uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
}

char* stack_for(int t) {
  while (static_cast<int>(t_stacks.size()) <= t) {
    void* p = mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw Hazard("emulator: cannot map a fiber stack");
    mprotect(p, kGuardBytes, PROT_NONE);  // a fiber overflowing its stack faults instead of corrupting memory
    t_stacks.push_back(static_cast<char*>(p) + kGuardBytes);
  }
  return t_stacks[static_cast<std::size_t>(t)];
}

void fiber_main(bc::transfer_t from) {
  Fiber* f = static_cast<Fiber*>(from.data);
  f->scheduler = from.fctx;
#if defined(SQ_EMU_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &t_scheduler_stack, &t_scheduler_stack_bytes);
#endif
  BlockRun& b = *t_block;
  try {
    b.body(b.context);
  } catch (const FiberAbort&) {
    // the hazard is recorded; the scheduler throws it when this fiber switches back
  } catch (const std::exception& e) {
    if (b.hazard.empty()) b.hazard = who(b, *f) + " threw: " + e.what();
  } catch (...) {
    if (b.hazard.empty()) b.hazard = who(b, *f) + " threw an exception";
  }
  f->state = State::exited;
  switch_to_scheduler(f, true);
  std::abort();  // an exited fiber is never resumed
}

void resume(Fiber& f) {
  t_fiber = &f;
  threadIdx = f.idx;
#if defined(SQ_EMU_ASAN)
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, f.stack, kStackBytes);
#endif
  const bc::transfer_t back = bc::jump_fcontext(f.context, &f);
  f.context = back.fctx;
#if defined(SQ_EMU_ASAN)
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  t_fiber = nullptr;
}

[[noreturn]] void raise(const BlockRun& b, const std::string& message) {
  (void)b;
  throw Hazard(message + "\nschedule: " + to_string(g_schedule));
}

// All ready threads have run to a barrier, a warp operation or their end: check, then release the barrier.
// Returns false when every thread has exited.
bool finish_interval(BlockRun& b) {
  std::vector<Fiber>& fibers = *b.fibers;
  const Fiber* at_barrier = nullptr;
  const Fiber* exited = nullptr;
  for (const Fiber& f : fibers) {
    if (f.state == State::warp) {
      std::string message = who(b, f) + ": deadlock: " + describe_wait(b, f) + ", but";
      const int base = f.linear / 32 * 32;
      for (int lane = 0; lane < 32; ++lane) {
        if (!((f.post.mask >> lane) & 1u) || base + lane >= b.threads) continue;
        const Fiber& other = fibers[static_cast<std::size_t>(base + lane)];
        if (other.state != State::warp)
          message += " lane " + std::to_string(lane) + " " + describe_wait(b, other) + ";";
      }
      raise(b, message);
    }
    if (f.state == State::barrier) {
      if (at_barrier != nullptr && !same_site(f.site, at_barrier->site)) {
        raise(b, who(b, f) + " " + describe_wait(b, f) + " while thread " + coords(at_barrier->idx) + " " +
                     describe_wait(b, *at_barrier) + ": __syncthreads reached from different call sites");
      }
      at_barrier = &f;
    }
    if (f.state == State::exited && exited == nullptr) exited = &f;
  }
  if (at_barrier == nullptr) return false;
  if (exited != nullptr) {
    raise(b, who(b, *exited) + " exited without reaching the __syncthreads at " + where(at_barrier->site) +
                 " (barrier #" + std::to_string(b.barriers + 1) + ") that thread " + coords(at_barrier->idx) +
                 " waits at: a barrier not reached by every thread of the block");
  }
  for (Fiber& f : fibers) f.state = State::ready;
  ++b.barriers;
  return true;
}

// Byte by byte and uninstrumented: AddressSanitizer may have put redzones between the variables.
__attribute__((no_sanitize_address)) void poison_static_shared() {
  if (__start_sq_emu_shared == nullptr || __stop_sq_emu_shared == nullptr) return;
#if defined(SQ_EMU_ASAN)
  for (volatile char* p = __start_sq_emu_shared; p < __stop_sq_emu_shared; ++p) *p = static_cast<char>(0xff);
#else
  std::memset(__start_sq_emu_shared, 0xff, static_cast<std::size_t>(__stop_sq_emu_shared - __start_sq_emu_shared));
#endif
}

void run_block(BlockRun& b, std::uint64_t block_linear) {
  std::vector<Fiber>& fibers = *b.fibers;
#if defined(SQ_EMU_ASAN)
  if (t_stacks_dirty) {  // frames of fibers a hazard abandoned: their redzones would misreport the next frames
    for (char* stack : t_stacks) ASAN_UNPOISON_MEMORY_REGION(stack, kStackBytes);
    t_stacks_dirty = false;
  }
#endif
  fibers.assign(static_cast<std::size_t>(b.threads), Fiber{});
  for (int t = 0; t < b.threads; ++t) {
    Fiber& f = fibers[static_cast<std::size_t>(t)];
    f.linear = t;
    f.idx = {static_cast<unsigned>(t) % b.block.x, static_cast<unsigned>(t) / b.block.x % b.block.y,
             static_cast<unsigned>(t) / (b.block.x * b.block.y)};
    f.stack = stack_for(t);
    f.context = bc::make_fcontext(f.stack + kStackBytes, kStackBytes, fiber_main);
  }
  blockIdx = b.block_idx;
  poison_static_shared();
  if (b.dynamic_bytes) std::memset(b.dynamic, 0xff, b.dynamic_bytes);  // NaN in every float / double
  static thread_local std::vector<int> order;
  order.resize(static_cast<std::size_t>(b.threads));
  for (std::uint64_t interval = 0;; ++interval) {
    make_order(order, block_linear * 0x100000001b3ull + interval);
    for (bool progressed = true; progressed;) {
      progressed = false;
      for (int t : order) {
        Fiber& f = fibers[static_cast<std::size_t>(t)];
        if (f.state != State::ready) continue;
        resume(f);
        progressed = true;
        if (!b.hazard.empty()) raise(b, b.hazard);
      }
    }
    if (!finish_interval(b)) return;
  }
}

struct BlockGuard {
  ~BlockGuard() {
    if (std::uncaught_exceptions() > 0) t_stacks_dirty = true;  // a hazard left fibers suspended mid-frame
    t_block = nullptr;
    t_fiber = nullptr;
    threadIdx = {0, 0, 0};
    blockIdx = {0, 0, 0};
    blockDim = dim3();
    gridDim = dim3();
  }
};

bool launch_error(const std::string& message) {
  g_last_error = cudaErrorInvalidConfiguration;
  g_last_error_text = "invalid configuration argument (emulator: " + message + ")";
  return false;
}

bool valid_launch(const char* kernel, dim3 grid, dim3 block, std::size_t dynamic) {
  const std::string k = std::string(" in ") + kernel;
  const std::uint64_t threads = std::uint64_t(block.x) * block.y * block.z;
  if (block.x == 0 || block.y == 0 || block.z == 0) return launch_error("an empty block" + k);
  if (threads > g_limits.max_threads_per_block || block.z > 64) {
    return launch_error(std::to_string(threads) + " threads per block" + k);
  }
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) return launch_error("an empty grid" + k);
  if (grid.x > 0x7fffffffu) return launch_error("gridDim.x = " + std::to_string(grid.x) + k);
  if (grid.y > g_limits.max_grid_yz || grid.z > g_limits.max_grid_yz) {
    return launch_error("gridDim (" + std::to_string(grid.y) + ", " + std::to_string(grid.z) +
                        ") beyond y, z <= " + std::to_string(g_limits.max_grid_yz) + k);
  }
  if (dynamic > g_limits.max_dynamic_shared) {
    return launch_error(std::to_string(dynamic) + " bytes of dynamic shared memory" + k);
  }
  return true;
}

}  // namespace

void switch_to_scheduler(Fiber* f, bool exiting) {
#if defined(SQ_EMU_ASAN)
  __sanitizer_start_switch_fiber(exiting ? nullptr : &f->asan_fake_stack, t_scheduler_stack, t_scheduler_stack_bytes);
#else
  (void)exiting;
#endif
  const bc::transfer_t back = bc::jump_fcontext(f->scheduler, nullptr);
  f->scheduler = back.fctx;
#if defined(SQ_EMU_ASAN)
  __sanitizer_finish_switch_fiber(f->asan_fake_stack, nullptr, nullptr);
#endif
}

[[noreturn]] void fail_in_fiber(Fiber* /*f*/, const std::string& message) {
  BlockRun& b = *t_block;
  if (b.hazard.empty()) b.hazard = message;
  throw FiberAbort{};  // unwinds the fiber's frames (their temporaries are freed) to fiber_main
}

Fiber* running(const char* what) {
  if (t_fiber == nullptr || t_block == nullptr) {
    std::fprintf(stderr, "sq emulator: %s called outside a kernel\n", what);
    std::abort();
  }
  return t_fiber;
}

void syncthreads(Site site) {
  Fiber* f = running("__syncthreads");
  f->state = State::barrier;
  f->site = site;
  switch_to_scheduler(f, false);
}

void* dynamic_shared(std::size_t* bytes) {
  running("dynamic shared memory");
  *bytes = t_block->dynamic_bytes;
  return t_block->dynamic;
}

void run_grid(const char* kernel, dim3 grid, dim3 block, std::size_t dynamic, cudaStream_t /*stream*/,
              void (*body)(void*), void* context) {
  if (t_block != nullptr) throw Hazard(std::string("emulator: launch of ") + kernel + " from a kernel (unsupported)");
  g_log.push_back({kernel, {grid.x, grid.y, grid.z}, {block.x, block.y, block.z}, dynamic});
  if (!valid_launch(kernel, grid, block, dynamic)) return;
  BlockGuard guard;
  BlockRun b;
  b.kernel = kernel;
  b.grid = grid;
  b.block = block;
  b.threads = static_cast<int>(block.x * block.y * block.z);
  b.body = body;
  b.context = context;
  b.fibers = &t_fibers;
  // A heap allocation of exactly the launch's size: an AddressSanitizer build catches an overrun.
  std::unique_ptr<unsigned char[]> dynamic_memory(dynamic ? new unsigned char[dynamic] : nullptr);
  b.dynamic = dynamic_memory.get();
  b.dynamic_bytes = dynamic;
  t_block = &b;
  blockDim = block;
  gridDim = grid;
  const std::uint64_t blocks = std::uint64_t(grid.x) * grid.y * grid.z;
  std::vector<int> order(static_cast<std::size_t>(blocks));
  make_order(order, 0xb10c5ull);
  for (int linear : order) {
    const auto l = static_cast<unsigned>(linear);
    b.block_idx = {l % grid.x, l / grid.x % grid.y, l / (grid.x * grid.y)};
    b.barriers = 0;
    run_block(b, static_cast<std::uint64_t>(linear));
  }
}

}  // namespace sq::emu::detail
