// The decision of the NCCL watchdog (src/dist/nccl_gradient_sync.cpp), kept pure so that it is tested with a fake
// clock (tests/dist/test_progress_watch.cpp). The host records markers (CUDA events) on the step's stream after its
// NCCL work; the watchdog reports how many of the oldest pending ones it has since found complete. Work is pending
// while a marker is; the job must end when pending work makes no progress (no marker completes) for longer than the
// timeout (a peer rank died or is stuck inside a collective), or at once when the communicator reports an error.
#pragma once

#include <chrono>

namespace sq::dist {

class ProgressWatch {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict { fine, timed_out, failed };

  explicit ProgressWatch(double timeout_s) : timeout_s_(timeout_s) {}  // 0: no timeout (errors still end the job)

  // A marker was recorded at `now`. The wait is measured from here when nothing was pending (the markers of a host
  // running ahead of the GPU wait in line behind earlier ones, whose completion counts as progress).
  void recorded(Clock::time_point now);
  // `completed`: markers found complete since the last poll (oldest first); `error`: the communicator has failed.
  Verdict poll(Clock::time_point now, int completed, bool error);

  int pending() const { return pending_; }
  // Seconds without progress while work is pending (0 when none is).
  double stalled_s(Clock::time_point now) const;
  double timeout_s() const { return timeout_s_; }

 private:
  double timeout_s_;
  int pending_ = 0;
  Clock::time_point last_progress_{};
};

}  // namespace sq::dist
