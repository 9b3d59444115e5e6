// Gradient averaging for GPU ranks on NCCL: one communicator per process (rank 0's ncclUniqueId broadcast over the
// bootstrap collective, MPI), the arena's gradients averaged (ncclAvg) in buckets on a side stream. Each bucket starts
// as soon as the layers that write it have enqueued their backward (BackwardBuckets: an event recorded on the step's
// stream after that layer, the side stream waiting on it), so the all-reduce overlaps the rest of backward; after
// backward the remaining buckets go, and the step's stream waits on the side stream's event before SGD. No host
// synchronisation, and a CUDA graph may record it all (fork / join of streams inside a capture). The communicator is
// non-blocking, watched by src/dist/nccl_watchdog.hpp (a stuck peer ends the job after --dist-timeout).
// Without SQ_WITH_NCCL only the stubs at the end are built.
#include "sq/config.hpp"
#include "sq/core/error.hpp"
#include "sq/dist/gradient_sync.hpp"

#if SQ_WITH_NCCL
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <memory>
#include <vector>

#include "dist/backward_buckets.hpp"
#include "dist/nccl_watchdog.hpp"
#include "sq/core/cuda_check.hpp"
#include "sq/dist/sharding.hpp"
#include "sq/nn/context.hpp"
#include "sq/nn/parameter.hpp"

#define SQ_NCCL_CHECK(call) SQ_LIBRARY_CHECK_(call, ncclResult_t, ncclSuccess, ncclGetErrorString, "NCCL")

namespace sq::dist {

namespace {
// Also the DeviceCollective of synchronised BN: its all-reduces run on the step's stream on the same communicator
// (NCCL runs one communicator's operations in the order they are issued, the same on every rank; a second
// communicator used concurrently could deadlock against this one).
class NcclGradientSync final : public GradientSync, public DeviceCollective {
 public:
  NcclGradientSync(Collective& bootstrap, Device device, std::int64_t bucket_elements, double timeout_s)
      : bootstrap_(bootstrap),
        device_(device),
        world_(bootstrap.size()),
        timeout_s_(timeout_s),
        buckets_(bucket_elements) {
    SQ_CHECK(device.is_cuda(), "NCCL gradient all-reduce needs a CUDA device, got " << device.str());
    SQ_CUDA_CHECK(cudaSetDevice(device.index));
    ncclUniqueId id{};
    if (bootstrap.rank() == 0) SQ_NCCL_CHECK(ncclGetUniqueId(&id));
    bootstrap.broadcast(&id, sizeof id, 0);
    // Non-blocking: no NCCL call can hang the host, so a stuck peer is caught during setup too, and the watchdog's
    // ncclCommAbort is never stuck behind one.
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    settle(ncclCommInitRankConfig(&comm_, world_, id, bootstrap.rank(), &config), "ncclCommInitRankConfig");
    watchdog_ = std::make_unique<NcclWatchdog>(comm_, device.index, bootstrap, timeout_s);
    SQ_CUDA_CHECK(cudaStreamCreateWithFlags(&side_, cudaStreamNonBlocking));
    SQ_CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
    SQ_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
  }
  ~NcclGradientSync() override {
    cudaSetDevice(device_.index);
    if (side_) cudaStreamSynchronize(side_);  // the watchdog still ends the job if this never returns
    watchdog_.reset();
    if (comm_) ncclCommDestroy(comm_);
    if (ready_) cudaEventDestroy(ready_);
    if (done_) cudaEventDestroy(done_);
    if (side_) cudaStreamDestroy(side_);
  }

  void begin_backward(nn::ParameterArena& arena, nn::ExecutionContext& ctx) override {
    SQ_CHECK(ctx.on_gpu() && arena.device() == device_,
             "NCCL gradient all-reduce made for " << device_.str() << ", arena on " << arena.device().str());
    buckets_.begin(arena);  // a new layout records its backward order at this (eager, first) step
    grads_ = arena.grads().data<float>();
  }
  void grads_ready(const nn::Module& layer, nn::ExecutionContext& ctx) override {
    launch(buckets_.layer_done(layer), ctx);
  }
  void reduce(nn::ParameterArena& arena, nn::ExecutionContext& ctx) override {
    SQ_CHECK(grads_ == arena.grads().data<float>(), "NCCL gradient all-reduce: reduce without begin_backward");
    launch(buckets_.end(), ctx);
    // Join: SGD waits for every bucket (the side stream ran them in launch order).
    SQ_CUDA_CHECK(cudaEventRecord(done_, side_));
    SQ_CUDA_CHECK(cudaStreamWaitEvent(reinterpret_cast<cudaStream_t>(ctx.stream), done_, 0));
  }
  bool capturable() const override { return true; }
  int world_size() const override { return world_; }
  void step_enqueued(nn::ExecutionContext& ctx) override {
    watchdog_->mark(reinterpret_cast<cudaStream_t>(ctx.stream));
  }
  DeviceCollective* device_collective() override { return this; }

  int size() const override { return world_; }
  void all_reduce_sum(double* device_data, std::int64_t n, StreamHandle stream) override {
    const auto s = reinterpret_cast<cudaStream_t>(stream);
    settle(ncclAllReduce(device_data, device_data, static_cast<std::size_t>(n), ncclDouble, ncclSum, comm_, s),
           "ncclAllReduce (synchronised BN)");
    watchdog_->mark(s);  // BN recalibration runs outside steps; inside a capture this records nothing
  }

 private:
  // The buckets in `which` start now: the side stream waits for the step's stream up to here (everything enqueued so
  // far, the layers that write them included), then all-reduces them in one NCCL group. Every rank launches the
  // same buckets in the same order (same model, same recorded backward order).
  void launch(const std::vector<int>& which, nn::ExecutionContext& ctx) {
    if (which.empty()) return;
    SQ_CUDA_CHECK(cudaEventRecord(ready_, reinterpret_cast<cudaStream_t>(ctx.stream)));
    SQ_CUDA_CHECK(cudaStreamWaitEvent(side_, ready_, 0));
    SQ_NCCL_CHECK(ncclGroupStart());
    for (const int i : which) {
      const Bucket& b = buckets_.buckets()[static_cast<std::size_t>(i)];
      settle(ncclAllReduce(grads_ + b.begin, grads_ + b.begin, static_cast<std::size_t>(b.end - b.begin), ncclFloat,
                           ncclAvg, comm_, side_),
             "ncclAllReduce (gradients)");
    }
    settle(ncclGroupEnd(), "ncclGroupEnd (gradient buckets)");
  }

  void settle(ncclResult_t result, const char* call) { nccl_settle(comm_, result, call, bootstrap_, timeout_s_); }

  Collective& bootstrap_;
  Device device_;
  int world_;
  double timeout_s_;
  BackwardBuckets buckets_;
  float* grads_ = nullptr;
  ncclComm_t comm_ = nullptr;
  cudaStream_t side_ = nullptr;
  cudaEvent_t ready_ = nullptr, done_ = nullptr;
  std::unique_ptr<NcclWatchdog> watchdog_;
};
}  // namespace

bool nccl_available() {
  return true;
}

std::unique_ptr<GradientSync> make_nccl_gradient_sync(Collective& bootstrap, Device device,
                                                      std::int64_t bucket_elements, double timeout_s) {
  SQ_CHECK(bucket_elements > 0, "gradient buckets must hold at least one element, got " << bucket_elements);
  SQ_CHECK(timeout_s >= 0, "the NCCL watchdog's timeout must be >= 0 seconds (0: none), got " << timeout_s);
  return std::make_unique<NcclGradientSync>(bootstrap, device, bucket_elements, timeout_s);
}

}  // namespace sq::dist

#else  // !SQ_WITH_NCCL

namespace sq::dist {

bool nccl_available() {
  return false;
}

std::unique_ptr<GradientSync> make_nccl_gradient_sync(Collective&, Device device, std::int64_t, double) {
  SQ_FAIL("data-parallel training on " << device.str()
                                       << " needs NCCL, and this build has none: build with CUDA and NCCL (found in "
                                          "the CUDA toolkit or NCCL_ROOT, cmake/FindNCCL.cmake)");
}

}  // namespace sq::dist

#endif
