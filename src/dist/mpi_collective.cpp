// The MPI Collective (MPI_COMM_WORLD) with a watchdog: a rank that waits longer than the timeout in one collective
// (a peer died or is stuck) ends the job with MPI_Abort and names itself and the collective, so nothing hangs.
// Without SQ_WITH_MPI only the stubs at the end are built: they say how to get MPI.
#include "sq/config.hpp"
#include "sq/core/error.hpp"
#include "sq/dist/world.hpp"

#if SQ_WITH_MPI
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace sq::dist {

namespace {

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void ensure_initialised() {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised) return;
  int provided = 0;
  // FUNNELED: only the main thread calls MPI (OpenMP workers never do); the watchdog only aborts.
  const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  SQ_CHECK(rc == MPI_SUCCESS, "MPI_Init_thread failed (error " << rc << "); is this process started by mpirun?");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  std::atexit(finalize_at_exit);
}

std::string error_string(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  return std::string(text, static_cast<std::size_t>(length));
}

class MpiCollective final : public Collective {
 public:
  explicit MpiCollective(WorldOptions options) : options_(options) {
    ensure_initialised();
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    library_ = std::string(version, static_cast<std::size_t>(length));
    if (const std::size_t cut = library_.find(','); cut != std::string::npos) library_.resize(cut);
    if (options_.timeout_s > 0) watchdog_ = std::thread([this] { watch(); });
  }
  ~MpiCollective() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_reduce_sum(float* data, std::int64_t n) override { reduce(data, n, MPI_FLOAT, "all-reduce (float)"); }
  void all_reduce_sum(double* data, std::int64_t n) override { reduce(data, n, MPI_DOUBLE, "all-reduce (double)"); }
  void all_reduce_sum(std::int64_t* data, std::int64_t n) override {
    reduce(data, n, MPI_INT64_T, "all-reduce (int64)");
  }
  std::vector<std::uint64_t> all_gather(std::uint64_t value) override {
    std::vector<std::uint64_t> out(static_cast<std::size_t>(size_));
    Guard guard(*this, "all-gather");
    check(MPI_Allgather(&value, 1, MPI_UINT64_T, out.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD), "MPI_Allgather");
    return out;
  }
  void broadcast(void* data, std::int64_t bytes, int root) override {
    Guard guard(*this, "broadcast");
    for (std::int64_t done = 0; done < bytes;) {
      const int chunk = static_cast<int>(std::min<std::int64_t>(bytes - done, 1 << 30));
      check(MPI_Bcast(static_cast<char*>(data) + done, chunk, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
      done += chunk;
    }
  }
  void barrier() override {
    Guard guard(*this, "barrier");
    check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
  }
  [[noreturn]] void abort(const std::string& message, int exit_code) override {
    std::fprintf(stderr, "sq rank %d of %d: %s\n", rank_, size_, message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);  // MPI_Abort does not return; in case it does
  }
  std::string describe() const override { return "MPI (" + library_ + "), " + std::to_string(size_) + " ranks"; }

 private:
  // Arms the watchdog for one collective.
  struct Guard {
    Guard(MpiCollective& c, const char* what) : c_(c) {
      std::lock_guard<std::mutex> lock(c_.mutex_);
      c_.what_ = what;
      c_.deadline_ = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                            std::chrono::duration<double>(c_.options_.timeout_s));
      c_.armed_ = true;
    }
    ~Guard() {
      std::lock_guard<std::mutex> lock(c_.mutex_);
      c_.armed_ = false;
    }
    MpiCollective& c_;
  };

  void watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::milliseconds(200));
      if (armed_ && std::chrono::steady_clock::now() > deadline_) {
        const std::string message = std::string("waited more than ") + std::to_string(options_.timeout_s) +
                                    " s in an MPI " + what_ +
                                    " for the other ranks: one of them died or is stuck; ending the job (raise "
                                    "--dist-timeout if the ranks are only slow)";
        lock.unlock();
        abort(message, 1);
      }
    }
  }

  template <class T>
  void reduce(T* data, std::int64_t n, MPI_Datatype type, const char* what) {
    Guard guard(*this, what);
    for (std::int64_t done = 0; done < n;) {
      const int chunk = static_cast<int>(std::min<std::int64_t>(n - done, 1 << 28));
      check(MPI_Allreduce(MPI_IN_PLACE, data + done, chunk, type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
      done += chunk;
    }
  }

  void check(int rc, const char* call) const {
    SQ_CHECK(rc == MPI_SUCCESS,
             "rank " << rank_ << ": " << call << " failed: " << error_string(rc) << " (a peer rank may have died)");
  }

  WorldOptions options_;
  int rank_ = 0, size_ = 1;
  std::string library_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false, armed_ = false;
  const char* what_ = "";
  std::chrono::steady_clock::time_point deadline_{};
  std::thread watchdog_;
};

}  // namespace

bool mpi_available() {
  return true;
}

std::unique_ptr<Collective> make_mpi_collective(WorldOptions options) {
  return std::make_unique<MpiCollective>(options);
}

}  // namespace sq::dist

#else  // !SQ_WITH_MPI

namespace sq::dist {

bool mpi_available() {
  return false;
}

std::unique_ptr<Collective> make_mpi_collective(WorldOptions) {
  SQ_FAIL(
      "distributed training needs MPI, and this build of SQ-CUDA has none: install libopenmpi-dev and "
      "openmpi-bin (scripts/common.sh does) and configure again with -DSQ_ENABLE_MPI=ON");
}

}  // namespace sq::dist

#endif
