// Gradient averaging for GPU ranks on NCCL: one communicator per process (rank 0's ncclUniqueId broadcast over the
// bootstrap collective, MPI), the arena's gradients averaged (ncclAvg) in buckets on a side stream that an event
// joins to the step's stream after backward, and the step's stream waits on the side stream's event before SGD:
// no host synchronisation, and a CUDA graph may record it (fork / join of streams inside a capture).
// Without SQ_WITH_NCCL only the stubs at the end are built.
#include "sq/config.hpp"
#include "sq/core/error.hpp"
#include "sq/dist/gradient_sync.hpp"

#if SQ_WITH_NCCL
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <vector>

#include "sq/core/cuda_check.hpp"
#include "sq/dist/sharding.hpp"
#include "sq/nn/context.hpp"
#include "sq/nn/parameter.hpp"

#define SQ_NCCL_CHECK(call) SQ_LIBRARY_CHECK_(call, ncclResult_t, ncclSuccess, ncclGetErrorString, "NCCL")

namespace sq::dist {

namespace {
class NcclGradientSync final : public GradientSync {
 public:
  NcclGradientSync(Collective& bootstrap, Device device, std::int64_t bucket_elements)
      : device_(device), world_(bootstrap.size()), bucket_elements_(bucket_elements) {
    SQ_CHECK(device.is_cuda(), "NCCL gradient all-reduce needs a CUDA device, got " << device.str());
    SQ_CUDA_CHECK(cudaSetDevice(device.index));
    ncclUniqueId id{};
    if (bootstrap.rank() == 0) SQ_NCCL_CHECK(ncclGetUniqueId(&id));
    bootstrap.broadcast(&id, sizeof id, 0);
    SQ_NCCL_CHECK(ncclCommInitRank(&comm_, world_, id, bootstrap.rank()));
    SQ_CUDA_CHECK(cudaStreamCreateWithFlags(&side_, cudaStreamNonBlocking));
    SQ_CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
    SQ_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
  }
  ~NcclGradientSync() override {
    cudaSetDevice(device_.index);
    if (side_) cudaStreamSynchronize(side_);
    if (comm_) ncclCommDestroy(comm_);
    if (ready_) cudaEventDestroy(ready_);
    if (done_) cudaEventDestroy(done_);
    if (side_) cudaStreamDestroy(side_);
  }

  void reduce(nn::ParameterArena& arena, nn::ExecutionContext& ctx) override {
    SQ_CHECK(ctx.on_gpu() && arena.device() == device_,
             "NCCL gradient all-reduce made for " << device_.str() << ", arena on " << arena.device().str());
    if (numel_ != arena.numel()) {  // once per arena (the first step), never in a captured step
      buckets_ = make_buckets(arena.numel(), bucket_elements_);
      numel_ = arena.numel();
    }
    const cudaStream_t main = reinterpret_cast<cudaStream_t>(ctx.stream);
    float* g = arena.grads().data<float>();
    SQ_CUDA_CHECK(cudaEventRecord(ready_, main));
    SQ_CUDA_CHECK(cudaStreamWaitEvent(side_, ready_, 0));
    SQ_NCCL_CHECK(ncclGroupStart());
    for (const Bucket& b : buckets_) {
      SQ_NCCL_CHECK(ncclAllReduce(g + b.begin, g + b.begin, static_cast<std::size_t>(b.end - b.begin), ncclFloat,
                                  ncclAvg, comm_, side_));
    }
    SQ_NCCL_CHECK(ncclGroupEnd());
    SQ_CUDA_CHECK(cudaEventRecord(done_, side_));
    SQ_CUDA_CHECK(cudaStreamWaitEvent(main, done_, 0));
  }
  bool capturable() const override { return true; }
  int world_size() const override { return world_; }

 private:
  Device device_;
  int world_;
  std::int64_t bucket_elements_;
  std::vector<Bucket> buckets_;
  std::int64_t numel_ = -1;
  ncclComm_t comm_ = nullptr;
  cudaStream_t side_ = nullptr;
  cudaEvent_t ready_ = nullptr, done_ = nullptr;
};
}  // namespace

bool nccl_available() {
  return true;
}

std::unique_ptr<GradientSync> make_nccl_gradient_sync(Collective& bootstrap, Device device,
                                                      std::int64_t bucket_elements) {
  SQ_CHECK(bucket_elements > 0, "gradient buckets must hold at least one element, got " << bucket_elements);
  return std::make_unique<NcclGradientSync>(bootstrap, device, bucket_elements);
}

}  // namespace sq::dist

#else  // !SQ_WITH_NCCL

namespace sq::dist {

bool nccl_available() {
  return false;
}

std::unique_ptr<GradientSync> make_nccl_gradient_sync(Collective&, Device device, std::int64_t) {
  SQ_FAIL("data-parallel training on " << device.str()
                                       << " needs NCCL, and this build has none: build with CUDA and NCCL (found in "
                                          "the CUDA toolkit or NCCL_ROOT, cmake/FindNCCL.cmake)");
}

}  // namespace sq::dist

#endif
