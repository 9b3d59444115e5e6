// Parallel loops for the host twins, on the process's one OpenMP pool (the one oneDNN uses; its size is
// sq::cpu_threads()). Each index is computed by exactly one thread with the serial loop's arithmetic in the serial
// order, so results are the same bits for every thread count. Small loops stay on the calling thread.
#pragma once

#include <algorithm>
#include <cstdint>

namespace sq::cpu {

// Below this many elements of work a fork-join (a few microseconds) costs more than it saves.
constexpr std::int64_t kParallelMinWork = std::int64_t(1) << 15;

// f(i) for i in [0, count); `work` is the loop's total element count (for the small-loop cut-off).
template <class F>
inline void parallel_for(std::int64_t count, std::int64_t work, F&& f) {
#if defined(_OPENMP)
  if (count > 1 && work >= kParallelMinWork) {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < count; ++i) f(i);
    return;
  }
#else
  (void)work;
#endif
  for (std::int64_t i = 0; i < count; ++i) f(i);
}

// f(begin, end) over [0, n) in blocks of `block` elements (an elementwise loop split into cache-sized pieces).
template <class F>
inline void parallel_blocks(std::int64_t n, std::int64_t block, F&& f) {
  const std::int64_t blocks = (n + block - 1) / block;
  parallel_for(blocks, n, [&](std::int64_t b) { f(b * block, std::min(n, (b + 1) * block)); });
}

}  // namespace sq::cpu
