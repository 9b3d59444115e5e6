// The helper thread of run_two_halves (sq_worker.hpp): one std::thread parked on a condition variable.
#include "quant/sq_worker.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

namespace sq::quant {
namespace {

class Worker {
 public:
  Worker() : thread_([this] { loop(); }) {}
  ~Worker() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  // Runs fn(context, 1) on the helper; wait() returns when it is done.
  void start(HalfFn fn, void* context) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_ = fn;
      context_ = context;
      error_ = nullptr;
      ++posted_;
    }
    wake_.notify_one();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    done_cv_.wait(lock, [this] { return done_ == posted_; });
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

  std::mutex busy;  // one fork-join at a time (pipelines on several threads fall back to serial)

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stop_ || done_ != posted_; });
      if (stop_) return;
      lock.unlock();
      std::exception_ptr error;
      try {
        fn_(context_, 1);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      error_ = error;
      done_ = posted_;
      done_cv_.notify_one();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_cv_;
  HalfFn fn_ = nullptr;
  void* context_ = nullptr;
  std::exception_ptr error_;
  unsigned long long posted_ = 0, done_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members it reads
};

std::atomic<bool>& threads_allowed() {
  static std::atomic<bool> allowed{[] {
    const char* env = std::getenv("SQ_CPU_THREADS");
    return std::thread::hardware_concurrency() >= 2 && !(env != nullptr && std::strcmp(env, "1") == 0);
  }()};
  return allowed;
}

std::atomic<unsigned long long> g_runs{0};

}  // namespace

void allow_helper_thread(bool allow) {
  threads_allowed() = allow && std::thread::hardware_concurrency() >= 2;
}

unsigned long long helper_thread_runs() {
  return g_runs.load();
}

bool run_two_halves(HalfFn fn, void* context) {
  if (!threads_allowed()) return false;
  static Worker worker;
  std::unique_lock<std::mutex> busy(worker.busy, std::try_to_lock);
  if (!busy.owns_lock()) return false;
  worker.start(fn, context);
  std::exception_ptr error;
  try {
    fn(context, 0);
  } catch (...) {
    error = std::current_exception();
  }
  worker.wait();  // always: the helper may still read the caller's data
  g_runs.fetch_add(1);
  if (error) std::rethrow_exception(error);
  return true;
}

}  // namespace sq::quant
