// StepGraph: capture / instantiate / replay of a training step and the pinned ring that feeds its scalars.
#include "cuda/step_graph.hpp"

#include <cstdio>

#include "sq/core/cuda_check.hpp"

namespace sq::train::detail {

StepGraph::StepGraph(Device device, cudaStream_t stream) {
  SQ_CHECK(device.is_cuda(), "StepGraph needs a CUDA device, got " << device.str());
  SQ_CUDA_CHECK(cudaSetDevice(device.index));
  SQ_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&scalars_), sizeof(StepScalars)));
  // On the step stream: a legacy-stream memset would not order against a non-blocking stream's work.
  SQ_CUDA_CHECK(cudaMemsetAsync(scalars_, 0, sizeof(StepScalars), stream));
  SQ_CUDA_CHECK(
      cudaHostAlloc(reinterpret_cast<void**>(&host_slots_), kSlots * sizeof(StepScalars), cudaHostAllocDefault));
  slot_events_.resize(kSlots, nullptr);
  slot_used_.resize(kSlots, false);
  for (cudaEvent_t& e : slot_events_) SQ_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
}

StepGraph::~StepGraph() {
  reset();
  for (cudaEvent_t e : slot_events_) {
    if (e) (void)cudaEventDestroy(e);
  }
  if (host_slots_) (void)cudaFreeHost(host_slots_);
  if (scalars_) (void)cudaFree(scalars_);
}

void StepGraph::upload(std::uint64_t step, float lr, cudaStream_t stream) {
  const int slot = next_slot_;
  next_slot_ = (next_slot_ + 1) % kSlots;
  // The previous copy out of this slot must have happened before the slot is overwritten.
  if (slot_used_[slot]) SQ_CUDA_CHECK(cudaEventSynchronize(slot_events_[slot]));
  host_slots_[slot] = StepScalars{step, lr, 0.f};
  SQ_CUDA_CHECK(cudaMemcpyAsync(scalars_, &host_slots_[slot], sizeof(StepScalars), cudaMemcpyHostToDevice, stream));
  SQ_CUDA_CHECK(cudaEventRecord(slot_events_[slot], stream));
  slot_used_[slot] = true;
}

void StepGraph::capture(const std::function<void()>& body, cudaStream_t stream) {
  reset();
  // Thread-local mode: other host threads (data loading) may keep using CUDA while this thread captures.
  SQ_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  try {
    body();
  } catch (...) {
    cudaGraph_t broken = nullptr;
    (void)cudaStreamEndCapture(stream, &broken);
    if (broken) (void)cudaGraphDestroy(broken);
    (void)cudaGetLastError();
    throw;
  }
  SQ_CUDA_CHECK(cudaStreamEndCapture(stream, &graph_));
  SQ_CUDA_CHECK(cudaGraphInstantiate(&exec_, graph_, 0));
}

void StepGraph::launch(cudaStream_t stream) {
  SQ_CHECK(exec_ != nullptr, "StepGraph::launch before capture");
  SQ_CUDA_CHECK(cudaGraphLaunch(exec_, stream));
}

void StepGraph::stage(void* dst, const void* src, std::size_t bytes, cudaStream_t stream) {
  if (dst != src && bytes > 0) SQ_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream));
}

void StepGraph::reset() {
  if (exec_) {
    const cudaError_t status = cudaGraphExecDestroy(exec_);
    if (status != cudaSuccess) std::fprintf(stderr, "sq: cudaGraphExecDestroy: %s\n", cudaGetErrorString(status));
  }
  if (graph_) (void)cudaGraphDestroy(graph_);
  exec_ = nullptr;
  graph_ = nullptr;
}

}  // namespace sq::train::detail
