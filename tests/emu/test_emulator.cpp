// The emulator itself: built-in variables, shared memory, barriers, shuffles, votes, cub::BlockScan and launch
// checks against known answers, and every hazard check on a kernel written to trip it (each must name kernel,
// block, thread and barrier or operation).
#include <cub/block/block_scan.cuh>

#include <numeric>
#include <string>

#include "emu_kernels.hpp"
#include "emu_support.hpp"

namespace {

using namespace sq::emu::testing;

// Runs the launch and returns the Hazard's message ("" when none).
template <class F>
std::string hazard_of(F launch) {
  try {
    launch();
  } catch (const sq::emu::Hazard& h) {
    return h.what();
  }
  return "";
}

__global__ void coordinates_kernel(unsigned* out) {
  const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  out[block * blockDim.x * blockDim.y * blockDim.z + thread] = block * 1000 + thread;
}

TEST(Emulator, BuiltInVariablesCoverEveryBlockAndThread) {
  const dim3 grid(3, 2, 2), block(4, 3, 2);
  std::vector<unsigned> out(12 * 24, 0xffffffffu);
  for (const auto& s : sq::emu::all_schedules(suite_seed())) {
    sq::emu::set_schedule(s);
    SQ_LAUNCH(coordinates_kernel, grid, block, 0, nullptr, out.data());
    for (unsigned b = 0; b < 12; ++b) {
      for (unsigned t = 0; t < 24; ++t) ASSERT_EQ(out[b * 24 + t], b * 1000 + t) << sq::emu::to_string(s);
    }
  }
  sq::emu::set_schedule({});
}

// Reversal through shared memory: correct only with the barrier. (Not a template: GCC drops the section
// attribute of statics in templates, so their shared memory is not poisoned; see docs/EMULATION.md.)
__global__ void reverse_kernel(int* out, const int* in, bool barrier) {
  __shared__ int s[128];
  s[threadIdx.x] = in[blockIdx.x * 128 + threadIdx.x];
  if (barrier) __syncthreads();
  out[blockIdx.x * 128 + threadIdx.x] = s[127 - threadIdx.x];
}

TEST(Emulator, AMissingBarrierGivesScheduleDependentResults) {
  std::vector<int> in(256);
  std::iota(in.begin(), in.end(), 0);
  std::vector<std::vector<int>> with, without;
  for (const auto& s : sq::emu::all_schedules(suite_seed())) {
    sq::emu::set_schedule(s);
    std::vector<int> a(256, -7), b(256, -7);
    SQ_LAUNCH(reverse_kernel, 2, 128, 0, nullptr, a.data(), in.data(), true);
    SQ_LAUNCH(reverse_kernel, 2, 128, 0, nullptr, b.data(), in.data(), false);
    with.push_back(a);
    without.push_back(b);
  }
  sq::emu::set_schedule({});
  for (int i = 0; i < 256; ++i) ASSERT_EQ(with[0][i], (i / 128) * 128 + 127 - i % 128);
  EXPECT_EQ(with[0], with[1]);
  EXPECT_EQ(with[0], with[2]);
  EXPECT_NE(without[0], without[1]) << "thread order and reversed order must disagree without the barrier";
  // Thread order reads shared memory before the other threads wrote it: the poison (-1), never a stale value.
  EXPECT_EQ(without[0][0], -1);
}

__global__ void partial_barrier_kernel(int* out) {
  if (threadIdx.x < 16) __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void divergent_barrier_kernel(int* out) {
  if (threadIdx.x % 2) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

TEST(Emulator, BarriersNotReachedByEveryThreadOrFromDifferentSitesAreHazards) {
  std::vector<int> out(64);
  std::string h = hazard_of([&] { SQ_LAUNCH(partial_barrier_kernel, dim3(1, 2), 64, 0, nullptr, out.data()); });
  EXPECT_NE(h.find("kernel partial_barrier_kernel block (0,"), std::string::npos) << h;
  EXPECT_NE(h.find("exited without reaching the __syncthreads at emu/test_emulator.cpp:"), std::string::npos) << h;
  EXPECT_NE(h.find("barrier #1"), std::string::npos) << h;
  EXPECT_NE(h.find("thread ("), std::string::npos) << h;
  h = hazard_of([&] { SQ_LAUNCH(divergent_barrier_kernel, 1, 64, 0, nullptr, out.data()); });
  EXPECT_NE(h.find("different call sites"), std::string::npos) << h;
  EXPECT_NE(h.find("kernel divergent_barrier_kernel block (0,0,0) thread ("), std::string::npos) << h;
}

__global__ void warp_sum_kernel(double* out, unsigned* ballots, int* votes) {
  double v = threadIdx.x + 1.0;
  for (int stride = 16; stride > 0; stride /= 2) v += __shfl_down_sync(0xffffffffu, v, stride);
  const double broadcast = __shfl_sync(0xffffffffu, v, 0);
  const int up = __shfl_up_sync(0xffffffffu, static_cast<int>(threadIdx.x), 3);
  const int across = __shfl_xor_sync(0xffffffffu, static_cast<int>(threadIdx.x), 1);
  const unsigned ballot = __ballot_sync(0xffffffffu, threadIdx.x % 3 == 0);
  __syncwarp();
  const int all = __all_sync(0xffffffffu, threadIdx.x < 64), any = __any_sync(0xffffffffu, threadIdx.x == 40);
  out[threadIdx.x] = broadcast;
  ballots[threadIdx.x] = ballot;
  votes[threadIdx.x] = up * 1000000 + across * 1000 + all * 10 + any;
}

TEST(Emulator, ShufflesAndVotesHaveTheirDeviceSemantics) {
  std::vector<double> out(64);
  std::vector<unsigned> ballots(64);
  std::vector<int> votes(64);
  SQ_LAUNCH(warp_sum_kernel, 1, 64, 0, nullptr, out.data(), ballots.data(), votes.data());
  for (int t = 0; t < 64; ++t) {
    const int lane = t % 32, base = t - lane;
    EXPECT_EQ(out[t], 32.0 * (base + 1) + 31 * 32 / 2) << t;  // sum of lane values of the warp
    EXPECT_EQ(ballots[t], ballots[base]) << "every lane gets the warp's ballot";
    const int up = lane >= 3 ? t - 3 : t, across = t ^ 1;
    EXPECT_EQ(votes[t], up * 1000000 + across * 1000 + 1 * 10 + (base == 32 ? 1 : 0)) << t;
  }
  unsigned expected0 = 0, expected1 = 0;
  for (int l = 0; l < 32; ++l) {
    expected0 |= (l % 3 == 0 ? 1u : 0u) << l;
    expected1 |= ((32 + l) % 3 == 0 ? 1u : 0u) << l;
  }
  EXPECT_EQ(ballots[0], expected0);
  EXPECT_EQ(ballots[32], expected1);
}

__global__ void shuffle_after_exit_kernel(int* out) {
  if (threadIdx.x >= 16) return;
  out[threadIdx.x] = __shfl_down_sync(0xffffffffu, static_cast<int>(threadIdx.x), 1);
}

__global__ void mask_without_caller_kernel(int* out) {
  out[threadIdx.x] = __shfl_sync(0x1u, static_cast<int>(threadIdx.x), 0);
}

__global__ void shuffle_reads_unnamed_lane_kernel(int* out) {
  if (threadIdx.x < 16) out[threadIdx.x] = __shfl_down_sync(0xffffu, static_cast<int>(threadIdx.x), 8);
}

__global__ void deadlock_kernel(int* out) {
  int v = static_cast<int>(threadIdx.x);
  if (threadIdx.x == 0) v = __shfl_sync(0xffffffffu, v, 1);
  __syncthreads();
  out[threadIdx.x] = v;
}

__global__ void mixed_warp_ops_kernel(int* out) {
  const int v = static_cast<int>(threadIdx.x);
  out[threadIdx.x] = threadIdx.x < 8 ? __shfl_xor_sync(0xffffffffu, v, 1) : __shfl_down_sync(0xffffffffu, v, 1);
}

TEST(Emulator, BadMasksAndDeadlocksAreHazards) {
  std::vector<int> out(32);
  for (const auto& s : sq::emu::all_schedules(suite_seed())) {
    sq::emu::set_schedule(s);
    SCOPED_TRACE(sq::emu::to_string(s));
    std::string h = hazard_of([&] { SQ_LAUNCH(shuffle_after_exit_kernel, 1, 32, 0, nullptr, out.data()); });
    EXPECT_NE(h.find("kernel shuffle_after_exit_kernel block (0,0,0) thread ("), std::string::npos) << h;
    EXPECT_NE(h.find("exited"), std::string::npos) << h;
    EXPECT_NE(h.find("__shfl_down_sync at emu/test_emulator.cpp:"), std::string::npos) << h;
    h = hazard_of([&] { SQ_LAUNCH(mask_without_caller_kernel, 1, 32, 0, nullptr, out.data()); });
    EXPECT_NE(h.find("does not name the calling lane"), std::string::npos) << h;
    h = hazard_of([&] { SQ_LAUNCH(shuffle_reads_unnamed_lane_kernel, 1, 32, 0, nullptr, out.data()); });
    EXPECT_NE(h.find("which the mask does not name"), std::string::npos) << h;
    h = hazard_of([&] { SQ_LAUNCH(deadlock_kernel, 1, 32, 0, nullptr, out.data()); });
    EXPECT_NE(h.find("deadlock"), std::string::npos) << h;
    EXPECT_NE(h.find("waits at the __syncthreads at emu/test_emulator.cpp:"), std::string::npos) << h;
    h = hazard_of([&] { SQ_LAUNCH(mixed_warp_ops_kernel, 1, 32, 0, nullptr, out.data()); });
    EXPECT_NE(h.find("different warp operations"), std::string::npos) << h;
  }
  sq::emu::set_schedule({});
  const std::string h = hazard_of([&] { SQ_LAUNCH(shuffle_after_exit_kernel, 1, 24, 0, nullptr, out.data()); });
  EXPECT_FALSE(h.empty()) << "lanes 24..31 of a 24-thread block do not exist";
}

using Scan = cub::BlockScan<int, 64>;

__global__ void scan_kernel(int* exclusive, int* inclusive, int* aggregate) {
  __shared__ Scan::TempStorage storage;
  const int input = static_cast<int>(threadIdx.x % 5);
  int e, a, i;
  Scan(storage).ExclusiveSum(input, e, a);
  __syncthreads();
  Scan(storage).InclusiveSum(input, i);
  exclusive[threadIdx.x] = e;
  inclusive[threadIdx.x] = i;
  aggregate[threadIdx.x] = a;
}

TEST(Emulator, BlockScanHasCubsDocumentedResults) {
  std::vector<int> e(64), i(64), a(64);
  SQ_LAUNCH(scan_kernel, 1, 64, 0, nullptr, e.data(), i.data(), a.data());
  int prefix = 0;
  for (int t = 0; t < 64; ++t) {
    EXPECT_EQ(e[t], prefix) << t;
    prefix += t % 5;
    EXPECT_EQ(i[t], prefix) << t;
  }
  for (int t = 0; t < 64; ++t) EXPECT_EQ(a[t], prefix);
}

__global__ void dynamic_shared_kernel(float* out, int n) {
  SQ_DYNAMIC_SHARED(float, s);
  out[blockIdx.x * blockDim.x + threadIdx.x] = s[threadIdx.x];  // poison: never written
  __syncthreads();
  for (int i = threadIdx.x; i < n; i += blockDim.x) s[i] = static_cast<float>(i + blockIdx.x);
  __syncthreads();
  if (threadIdx.x == 0) {
    float sum = 0.f;
    for (int i = 0; i < n; ++i) sum += s[i];
    out[gridDim.x * blockDim.x + blockIdx.x] = sum;
  }
}

TEST(Emulator, DynamicSharedMemoryIsSizedAtLaunchAndPoisoned) {
  const int n = 100;
  std::vector<float> out(2 * 32 + 2, 0.f);
  SQ_LAUNCH(dynamic_shared_kernel, 2, 32, n * sizeof(float), nullptr, out.data(), n);
  for (int t = 0; t < 64; ++t) EXPECT_TRUE(std::isnan(out[t])) << t;
  EXPECT_EQ(out[64], 4950.f);
  EXPECT_EQ(out[65], 5050.f);
}

TEST(Emulator, LaunchLimitsFailLikeTheHardware) {
  std::vector<unsigned> out(2048);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  SQ_LAUNCH(coordinates_kernel, 1, 1025, 0, nullptr, out.data());
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  SQ_LAUNCH(coordinates_kernel, dim3(1, 65536), 1, 0, nullptr, out.data());
  const cudaError_t e = cudaGetLastError();
  ASSERT_EQ(e, cudaErrorInvalidConfiguration);
  EXPECT_NE(std::string(cudaGetErrorString(e)).find("gridDim"), std::string::npos) << cudaGetErrorString(e);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "cleared once read";
  SQ_LAUNCH(dynamic_shared_kernel, 1, 32, 64 * 1024, nullptr, reinterpret_cast<float*>(out.data()), 1);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
}

}  // namespace
