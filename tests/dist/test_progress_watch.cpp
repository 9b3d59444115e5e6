// The NCCL watchdog's decision (src/dist/progress_watch.hpp) on a fake clock: pending work that makes no progress for
// longer than the timeout ends the job, progress (a marker completing) restarts the wait, nothing pending never
// times out, an NCCL error ends the job at once, and a timeout of 0 waits forever.
#include <gtest/gtest.h>

#include <chrono>

#include "dist/progress_watch.hpp"

namespace {

using sq::dist::ProgressWatch;
using Verdict = ProgressWatch::Verdict;

ProgressWatch::Clock::time_point at(double seconds) {
  return ProgressWatch::Clock::time_point{} +
         std::chrono::duration_cast<ProgressWatch::Clock::duration>(std::chrono::duration<double>(1000.0 + seconds));
}

TEST(DistProgressWatch, PendingWorkWithoutProgressTimesOut) {
  ProgressWatch w(3.0);
  EXPECT_EQ(w.poll(at(100), 0, false), Verdict::fine) << "nothing pending: idle for ever is fine";
  w.recorded(at(100));
  EXPECT_EQ(w.poll(at(102), 0, false), Verdict::fine);
  EXPECT_EQ(w.poll(at(103), 0, false), Verdict::fine) << "exactly the timeout is still fine";
  EXPECT_EQ(w.poll(at(103.5), 0, false), Verdict::timed_out);
  EXPECT_DOUBLE_EQ(w.stalled_s(at(103.5)), 3.5);
}

TEST(DistProgressWatch, ProgressRestartsTheWaitEvenWhenTheHostRunsAhead) {
  ProgressWatch w(3.0);
  // The host keeps two steps in flight: the latest marker is never complete when polled, yet steps finish.
  w.recorded(at(0));
  w.recorded(at(0.5));
  for (int s = 1; s <= 20; ++s) {
    w.recorded(at(2.0 * s));
    EXPECT_EQ(w.poll(at(2.0 * s + 0.1), 1, false), Verdict::fine) << "step " << s;
  }
  EXPECT_EQ(w.pending(), 2);
  // Then nothing completes: the wait counts from the last progress, not from the latest marker.
  w.recorded(at(41));
  EXPECT_EQ(w.poll(at(42.9), 0, false), Verdict::fine);
  EXPECT_EQ(w.poll(at(43.2), 0, false), Verdict::timed_out) << "no progress since 40.1 (not 41, the latest marker)";
}

TEST(DistProgressWatch, AllDoneStopsTheClockAndANewMarkerStartsIt) {
  ProgressWatch w(1.0);
  w.recorded(at(0));
  EXPECT_EQ(w.poll(at(0.5), 1, false), Verdict::fine);
  EXPECT_EQ(w.pending(), 0);
  EXPECT_EQ(w.poll(at(60), 0, false), Verdict::fine) << "between steps (evaluation, checkpoints) nothing is pending";
  w.recorded(at(60));
  EXPECT_EQ(w.poll(at(60.9), 0, false), Verdict::fine) << "the wait starts at the new marker";
  EXPECT_EQ(w.poll(at(61.1), 0, false), Verdict::timed_out);
}

TEST(DistProgressWatch, AnErrorEndsTheJobAtOnceAndZeroWaitsForever) {
  ProgressWatch w(300.0);
  w.recorded(at(0));
  EXPECT_EQ(w.poll(at(0.1), 0, true), Verdict::failed);
  ProgressWatch forever(0.0);
  forever.recorded(at(0));
  EXPECT_EQ(forever.poll(at(1e6), 0, false), Verdict::fine);
  EXPECT_EQ(forever.poll(at(1e6), 0, true), Verdict::failed);
}

}  // namespace
