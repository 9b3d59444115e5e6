// The NCCL watchdog (see the header).
#include "dist/nccl_watchdog.hpp"

#if SQ_WITH_NCCL
#include <chrono>
#include <cstdlib>
#include <sstream>

#include "sq/core/cuda_check.hpp"
#include "sq/core/error.hpp"

namespace sq::dist {

namespace {
using Clock = ProgressWatch::Clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string describe(ncclComm_t comm, ncclResult_t result) {
  std::ostringstream out;
  out << "NCCL error " << static_cast<int>(result) << ": " << ncclGetErrorString(result);
  if (const char* last = ncclGetLastError(comm); last != nullptr && *last != '\0') out << " (" << last << ")";
  return out.str();
}
}  // namespace

void nccl_settle(ncclComm_t comm, ncclResult_t result, const char* call, Collective& bootstrap, double timeout_s) {
  const Clock::time_point start = Clock::now();
  while (result == ncclInProgress) {
    if (timeout_s > 0 && seconds_since(start) > timeout_s) {
      std::ostringstream why;
      why << call << " still in progress after " << timeout_s
          << " s: a peer rank died or is stuck; aborting the NCCL communicator and ending the job (raise "
             "--dist-timeout if the ranks are only slow)";
      ncclCommAbort(comm);
      bootstrap.abort(why.str(), 1);
    }
    std::this_thread::yield();
    ncclResult_t state = ncclSuccess;
    const ncclResult_t rc = ncclCommGetAsyncError(comm, &state);
    result = rc != ncclSuccess ? rc : state;
  }
  SQ_CHECK(result == ncclSuccess, call << " failed: " << describe(comm, result));
}

NcclWatchdog::NcclWatchdog(ncclComm_t comm, int device, Collective& bootstrap, double timeout_s)
    : comm_(comm), device_(device), bootstrap_(bootstrap), progress_(timeout_s) {
  events_.resize(kMarkers, nullptr);
  for (int i = 0; i < kMarkers; ++i) {
    SQ_CUDA_CHECK(cudaEventCreateWithFlags(&events_[static_cast<std::size_t>(i)], cudaEventDisableTiming));
  }
  thread_ = std::thread([this] { watch(); });
}

NcclWatchdog::~NcclWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (cudaEvent_t e : events_)
    if (e != nullptr) cudaEventDestroy(e);
}

void NcclWatchdog::mark(cudaStream_t stream) {
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  SQ_CUDA_CHECK(cudaStreamIsCapturing(stream, &capture));
  if (capture != cudaStreamCaptureStatusNone) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (pending_count_ == kMarkers) return;
  const int slot = (first_pending_ + pending_count_) % kMarkers;
  SQ_CUDA_CHECK(cudaEventRecord(events_[static_cast<std::size_t>(slot)], stream));
  ++pending_count_;
  progress_.recorded(Clock::now());
}

void NcclWatchdog::watch() {
  cudaSetDevice(device_);  // the events' device, for this thread's queries
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(100));
    if (stopping_) break;
    int completed = 0;
    std::string error;
    while (pending_count_ > 0) {
      const cudaError_t q = cudaEventQuery(events_[static_cast<std::size_t>(first_pending_)]);
      if (q == cudaErrorNotReady) break;
      if (q != cudaSuccess) {
        error = std::string("CUDA error: ") + cudaGetErrorString(q);
        break;
      }
      first_pending_ = (first_pending_ + 1) % kMarkers;
      --pending_count_;
      ++completed;
    }
    ncclResult_t state = ncclSuccess;
    const ncclResult_t rc = ncclCommGetAsyncError(comm_, &state);
    if (rc != ncclSuccess) state = rc;
    if (error.empty() && state != ncclSuccess && state != ncclInProgress) error = describe(comm_, state);
    const ProgressWatch::Verdict verdict = progress_.poll(Clock::now(), completed, !error.empty());
    if (verdict == ProgressWatch::Verdict::fine) continue;
    std::ostringstream why;
    if (verdict == ProgressWatch::Verdict::timed_out) {
      why << "the NCCL work enqueued on this rank's GPU has made no progress for more than " << progress_.timeout_s()
          << " s: a peer rank died or is stuck in a collective; aborting the NCCL communicator and ending the job "
             "(raise --dist-timeout if the ranks are only slow)";
    } else {
      why << "NCCL failed on this rank's GPU (" << error << "); aborting the NCCL communicator and ending the job";
    }
    lock.unlock();
    end_job(why.str());
  }
}

void NcclWatchdog::end_job(const std::string& why) {
  ncclCommAbort(comm_);  // frees any rank of this process blocked in NCCL; the job ends either way
  bootstrap_.abort(why, 1);
  std::_Exit(1);  // abort() does not return (a virtual call's [[noreturn]] is not seen by the compiler)
}

}  // namespace sq::dist
#endif
