// The NCCL watchdog's decision (see the header).
#include "dist/progress_watch.hpp"

#include <algorithm>

namespace sq::dist {

void ProgressWatch::recorded(Clock::time_point now) {
  if (pending_ == 0) last_progress_ = now;
  ++pending_;
}

ProgressWatch::Verdict ProgressWatch::poll(Clock::time_point now, int completed, bool error) {
  if (error) return Verdict::failed;
  if (completed > 0) {
    pending_ = std::max(0, pending_ - completed);
    last_progress_ = now;
  }
  return timeout_s_ > 0 && stalled_s(now) > timeout_s_ ? Verdict::timed_out : Verdict::fine;
}

double ProgressWatch::stalled_s(Clock::time_point now) const {
  return pending_ > 0 ? std::chrono::duration<double>(now - last_progress_).count() : 0.0;
}

}  // namespace sq::dist
