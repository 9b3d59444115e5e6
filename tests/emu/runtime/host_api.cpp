// The host side of the emulated runtime: schedules, limits, the launch log, cudaGetLastError's state.
#include <sstream>

#include "runtime/internal.hpp"

namespace sq::emu {
namespace detail {

Schedule g_schedule;
Limits g_limits;
std::vector<LaunchRecord> g_log;
cudaError_t g_last_error = cudaSuccess;
std::string g_last_error_text;

cudaError_t take_last_error() {
  const cudaError_t e = g_last_error;
  g_last_error = cudaSuccess;
  return e;
}

const char* error_string(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidConfiguration: return g_last_error_text.c_str();
    case cudaErrorInvalidValue: return "invalid argument";
    default: return "unspecified launch failure";
  }
}

}  // namespace detail

void set_schedule(const Schedule& schedule) {
  detail::g_schedule = schedule;
}
Schedule schedule() {
  return detail::g_schedule;
}
std::string to_string(const Schedule& s) {
  switch (s.order) {
    case Order::forward: return "thread order";
    case Order::reverse: return "reversed";
    case Order::shuffled: return "shuffled (seed " + std::to_string(s.seed) + ")";
  }
  return "?";
}
std::vector<Schedule> all_schedules(std::uint64_t seed) {
  return {{Order::forward, 0}, {Order::reverse, 0}, {Order::shuffled, seed}};
}
Limits& limits() {
  return detail::g_limits;
}
const std::vector<LaunchRecord>& launch_log() {
  return detail::g_log;
}
void clear_launch_log() {
  detail::g_log.clear();
}
std::string describe_launch_log() {
  std::ostringstream out;
  for (const LaunchRecord& r : detail::g_log) {
    out << "  " << r.kernel << "<<<(" << r.grid[0] << "," << r.grid[1] << "," << r.grid[2] << "), (" << r.block[0]
        << "," << r.block[1] << "," << r.block[2] << "), " << r.dynamic_shared << ">>>\n";
  }
  return out.str();
}

}  // namespace sq::emu
