// The process's CPU thread count, applied to OpenMP (oneDNN and the host twins), OpenBLAS and the SQ helper.
#include "sq/core/cpu_threads.hpp"

#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "quant/sq_worker.hpp"
#include "sq/core/error.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

extern "C" void openblas_set_num_threads(int num_threads);  // cblas.h declares it too; this avoids the header here

namespace sq {
namespace {

std::atomic<int>& current() {
  static std::atomic<int> n{0};  // 0: not applied yet
  return n;
}

void apply(int n) {
#if defined(_OPENMP)
  omp_set_num_threads(n);
#endif
  openblas_set_num_threads(n);
  quant::allow_helper_thread(n >= 2);
  current() = n;
}

}  // namespace

int node_cpu_cores() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

int usable_cpu_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return node_cpu_cores();
}

int default_cpu_threads() {
  if (const char* env = std::getenv("SQ_CPU_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    SQ_CHECK(end != env && *end == '\0' && n >= 1 && n <= 1024,
             "SQ_CPU_THREADS='" << env << "' is not a thread count: set a number from 1 to 1024, or unset it for the "
                                << "number of cores (" << usable_cpu_cores() << ")");
    return static_cast<int>(n);
  }
  return usable_cpu_cores();
}

int cpu_threads() {
  if (current() == 0) apply(default_cpu_threads());
  return current();
}

void set_cpu_threads(int n) {
  SQ_CHECK(n >= 0 && n <= 1024, "CPU thread count " << n << " is out of range: use 1 to 1024, or 0 for the default ("
                                                    << default_cpu_threads() << ")");
  apply(n == 0 ? default_cpu_threads() : n);
}

void exec_with_passive_openmp_waits(char** argv) {
#if defined(_OPENMP)
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || argv == nullptr || argv[0] == nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure: carry on with the spinning default
  unsetenv("OMP_WAIT_POLICY");
#else
  (void)argv;
#endif
}

}  // namespace sq
