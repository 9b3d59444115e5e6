// GPU ranks' watchdog over the NCCL communicator (docs/DISTRIBUTED.md "Stops and failures"): the host records a
// marker (a CUDA event) on the step's stream after each step's work, NCCL included; a thread polls the markers with
// cudaEventQuery and the communicator with ncclCommGetAsyncError, and when pending work makes no progress for longer
// than --dist-timeout (a peer died or is stuck in a collective) or NCCL reports an error, it aborts the communicator
// (ncclCommAbort) and ends the job naming this rank. The step itself never waits for it: no host sync.
// Built with NCCL only.
#pragma once

#include "sq/config.hpp"

#if SQ_WITH_NCCL
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dist/progress_watch.hpp"
#include "sq/dist/collective.hpp"

namespace sq::dist {

// A non-blocking communicator's call that returned ncclInProgress (its host-side setup or enqueue still running)
// waited for by polling the communicator's state, as NCCL requires before the next call. Throws sq::Error naming
// `call` on an NCCL error; ends the job (bootstrap.abort) when still in progress after timeout_s (> 0).
void nccl_settle(ncclComm_t comm, ncclResult_t result, const char* call, Collective& bootstrap, double timeout_s);

class NcclWatchdog {
 public:
  // timeout_s 0: no timeout (NCCL errors still end the job). `bootstrap` must outlive the watchdog.
  NcclWatchdog(ncclComm_t comm, int device, Collective& bootstrap, double timeout_s);
  ~NcclWatchdog();  // stops the thread: destroy the watchdog before the communicator
  NcclWatchdog(const NcclWatchdog&) = delete;
  NcclWatchdog& operator=(const NcclWatchdog&) = delete;

  // A marker after the work enqueued on `stream` so far. Nothing while the stream is being captured (the graph's
  // replays get theirs from the trainer after each launch).
  void mark(cudaStream_t stream);

 private:
  void watch();
  [[noreturn]] void end_job(const std::string& why);

  // Markers in flight at most: a host this far ahead of its GPU skips markers (the next one recorded after a slot
  // frees still follows, in stream order, any work that is stuck).
  static constexpr int kMarkers = 64;

  ncclComm_t comm_;
  int device_;
  Collective& bootstrap_;
  ProgressWatch progress_;
  std::vector<cudaEvent_t> events_;
  // The markers in flight are events_[first_pending_ ..] (cyclically), pending_count_ of them: recorded in stream
  // order, they complete in that order, so a ring suffices and mark() allocates nothing inside a step.
  int first_pending_ = 0;
  int pending_count_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sq::dist
#endif
