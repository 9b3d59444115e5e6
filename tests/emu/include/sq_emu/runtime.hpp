// The host side of the emulated CUDA runtime (tests/emu): error codes, streams (launches run synchronously on the
// calling thread, so a stream is only a tag), cudaGetLastError / cudaGetErrorString, the schedule the emulator
// runs blocks and threads in, its limits, and the log of launches. See docs/EMULATION.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

// The names and values of the toolkit's declarations, so that signatures mangle alike.
enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorLaunchFailure = 719,
};
typedef enum cudaError cudaError_t;
struct CUstream_st;
typedef struct CUstream_st* cudaStream_t;

namespace sq::emu {

// How the emulator orders the threads of a block between two barriers (and the blocks of a grid): thread
// order, reversed, or a shuffle drawn from the seed afresh for every block and every barrier interval.
enum class Order { forward, reverse, shuffled };
struct Schedule {
  Order order = Order::forward;
  std::uint64_t seed = 0;
};
void set_schedule(const Schedule& schedule);
Schedule schedule();
std::string to_string(const Schedule& schedule);
// The three schedules every emulated parity test runs in (the shuffle seeded from `seed`).
std::vector<Schedule> all_schedules(std::uint64_t seed);

// Launch limits checked like the hardware's (a launch beyond them fails with cudaErrorInvalidConfiguration).
// Tests lower max_grid_yz to exercise the loops of kernels over more planes than one launch may have blocks.
struct Limits {
  unsigned max_grid_yz = 65535;
  unsigned max_threads_per_block = 1024;
  std::size_t max_dynamic_shared = 48 * 1024;
};
Limits& limits();

// A hazard the emulator saw (divergent or missed barrier, bad shuffle/vote mask, deadlock, exception in a
// kernel): what() names kernel, block, thread and barrier.
class Hazard : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Every launch since the last clear_launch_log(): kernel name and shape (tests print it on a mismatch).
struct LaunchRecord {
  std::string kernel;
  unsigned grid[3], block[3];
  std::size_t dynamic_shared;
};
const std::vector<LaunchRecord>& launch_log();
void clear_launch_log();
std::string describe_launch_log();

namespace detail {
cudaError_t take_last_error();
const char* error_string(cudaError_t error);
}  // namespace detail

}  // namespace sq::emu

// Internal linkage: never interposes the toolkit's symbols when a CUDA build links libcudart into the same process.
static inline cudaError_t cudaGetLastError() {
  return ::sq::emu::detail::take_last_error();
}
static inline const char* cudaGetErrorString(cudaError_t error) {
  return ::sq::emu::detail::error_string(error);
}
