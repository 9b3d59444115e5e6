// The NCCL watchdog on one GPU (src/dist/nccl_watchdog.hpp): work on the step's stream that makes no progress for
// longer than the timeout (a host function that sleeps stands in for a collective stuck on a dead peer) ends the
// process, saying why; healthy steps with the watchdog on are never ended (DistNccl.* run with a 30 s timeout).
// The decision itself is tested on a fake clock in tests/dist/test_progress_watch.cpp.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "sq/config.hpp"
#include "sq/dist/collective.hpp"
#include "sq/dist/gradient_sync.hpp"
#include "sq/nn/context.hpp"
#include "support/gpu.hpp"

namespace {

#if SQ_WITH_CUDA  // CPU-only builds compile tests/gpu too, without the CUDA runtime to link
void CUDART_CB sleep_on_the_stream(void*) {
  std::this_thread::sleep_for(std::chrono::seconds(8));
}

[[noreturn]] void stuck_step() {
  const sq::Device gpu = sq::Device::cuda(0);
  sq::nn::ExecutionContext ctx = sq::nn::make_context(gpu);
  sq::dist::SelfCollective self;
  const auto sync = sq::dist::make_nccl_gradient_sync(self, gpu, 1 << 20, /*timeout_s=*/1.0);
  const auto stream = reinterpret_cast<cudaStream_t>(ctx.stream);
  if (cudaLaunchHostFunc(stream, sleep_on_the_stream, nullptr) != cudaSuccess) std::_Exit(3);
  sync->step_enqueued(ctx);  // the marker the watchdog waits on follows the stuck work
  std::this_thread::sleep_for(std::chrono::seconds(6));
  std::fprintf(stderr, "the watchdog did not end the process\n");
  std::_Exit(0);
}

#endif

TEST(DistNcclWatchdog, StepWorkWithoutProgressEndsTheProcess) {
  SQ_REQUIRE_GPU();
#if SQ_WITH_CUDA
  if (!sq::dist::nccl_available()) GTEST_SKIP() << "this build has no NCCL (SQ_ENABLE_NCCL, cmake/FindNCCL.cmake)";
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // the child starts afresh: CUDA does not survive a fork
  // Without the watchdog the child would wait 6 s and exit 0, before the stuck work (8 s) ends.
  EXPECT_EXIT(stuck_step(), ::testing::ExitedWithCode(1), "no progress for more than 1 s");
#endif
}

}  // namespace
